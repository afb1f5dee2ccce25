using System.Globalization;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>
/// The autoscaler's reaction on real processes: from a request queuing at the gateway to the deployment's scale
/// decision, with immediate load reports and with periodic reports only (every 5 s, the behaviour before) as the
/// baseline, a few rounds each on one system per mode. Runs only with DEEPDEPLOY_BENCH=1.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class ReactionBenchmark(ITestOutputHelper output)
{
    const int Rounds = 5;

    [BenchmarkFact]
    public async Task Queue_build_up_to_scale_decision()
    {
        var immediate = await MeasureAsync(immediate: true);
        var periodic = await MeasureAsync(immediate: false);
        var report = string.Create(CultureInfo.InvariantCulture,
            $"queue build-up → scale decision over {Rounds} rounds (real host, fake engine): " +
            $"immediate reports median {Median(immediate):F0} ms (max {immediate.Max():F0}), " +
            $"periodic 5 s reports only median {Median(periodic):F0} ms (max {periodic.Max():F0}), ratio {Median(periodic) / Median(immediate):F1}×");
        output.WriteLine(report);
        Console.WriteLine(report);
    }

    static async Task<List<double>> MeasureAsync(bool immediate)
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 20, QueueReaction.Settings(immediate));
        var delays = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var (_, delay) = await QueueReaction.MeasureAsync(system, $"bench{round}", "reaction");
            delays.Add(delay.TotalMilliseconds);
        }

        return delays;
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
