using System.Globalization;
using DeepDeploy.Tests.Worker;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The A/B of runtime knobs (<see cref="RuntimeKnob"/>): the floor and the shipped silo with each knob on and
/// off, all running at once, measured in turn IN THE SAME INVOCATION, interleaved (each round rotates the order),
/// against the same workers direct and through nginx. On a shared machine a knob is called a win only when it wins
/// in every round or by more than the base's spread across rounds.</summary>
public sealed partial class GatewayBenchmark
{
    /// <summary>Opt-in (DEEPDEPLOY_BENCH=1): DEEPDEPLOY_BENCH_KNOBS (floor) and DEEPDEPLOY_BENCH_KNOBS_SILO (shipped silo)
    /// name the knobs, DEEPDEPLOY_BENCH_AB_ROUNDS the rounds (3), DEEPDEPLOY_BENCH_C1_SECONDS the single client's run.
    /// Writes bench-results/gateway-knobs.txt.</summary>
    [BenchmarkFact]
    public async Task Runtime_knobs_ab()
    {
        var floorKnobs = RuntimeKnob.Parse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_KNOBS"), "inline,wks,gen0-64m");
        var siloKnobs = RuntimeKnob.Parse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_KNOBS_SILO"), "inline");
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_AB_ROUNDS"), out var r) && r > 0 ? r : 3;
        Line($"DeepDeploy runtime knobs A/B {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z, {Environment.ProcessorCount} cores, {rounds} rounds; c=64 for {Measure.TotalSeconds:0} s, c=1 for {SingleClient.TotalSeconds:0} s, 2 s warm-up each");
        foreach (var knob in floorKnobs.Concat(siloKnobs).Distinct())
        {
            Line($"   {knob.Name}: {(knob.Environment.Count == 0 ? "as shipped" : string.Join(' ', knob.Environment.Select(e => $"{e.Key}={e.Value}")))}");
        }

        var owned = new List<IAsyncDisposable>();
        try
        {
            var targets = new List<(string Label, (Uri, string?)[] Urls)>();
            foreach (var knob in siloKnobs)
            {
                var silo = await ShippedSilo.StartAsync(tokenRate: 0, workerArgs: "--max-queue 4096", knob.Environment);
                owned.Add(silo);
                var token = await silo.CreateUserAsync("bench");
                using var client = silo.Client(token);
                await GatewaySystem.DeployAsync(client, "fast", maxBatchSize: 256, minInstances: 2, maxInstances: 2, running: 2);
                await silo.WaitRoutedAsync(client, "bench/fast", 2);
                var workerUrls = silo.Workers().Select(w => (new Uri(w.Endpoint + "/v1/chat/completions"), (string?)w.Secret)).ToArray();
                // Each silo has its own workers (the node passes DOTNET_* knobs on to them): each gateway's direct too.
                targets.Add((Label("direct", knob), workerUrls));
                targets.Add((Label("gateway", knob), [(new Uri(silo.BaseAddress, "/v1/openai/chat/completions"), token)]));
                if (knob == siloKnobs[0])
                {
                    var workers = silo.Workers();
                    if (NginxProcess.Binary is not null)
                    {
                        var nginx = await NginxProcess.StartAsync(workers);
                        owned.Add(nginx);
                        targets.Add(("nginx", [(new Uri(nginx.BaseAddress, "/v1/chat/completions"), null)]));
                    }

                    foreach (var floorKnob in FloorProcess.Dll is null ? [] : floorKnobs)
                    {
                        var floor = await FloorProcess.StartAsync(workers, floorKnob.Environment);
                        owned.Add(floor);
                        targets.Add((Label("floor", floorKnob), [(new Uri(floor.BaseAddress, "/v1/chat/completions"), null)]));
                    }
                }
            }

            foreach (var (_, urls) in targets)
            {
                await ClosedLoopAsync(urls, Body, 16, Measure);
            }

            var results = new Dictionary<(string Label, int Round), (Result Many, Result One)>();
            for (var round = 0; round < rounds; round++)
            {
                var order = targets.Skip(round % targets.Count).Concat(targets.Take(round % targets.Count));
                foreach (var (label, urls) in order)
                {
                    var many = await ClosedLoopAsync(urls, Body, 64, Measure);
                    var one = await ClosedLoopAsync(urls, Body, 1, SingleClient);
                    results[(label, round)] = (many, one);
                    Line($"  round {round + 1} {label,-20} c=64 {many}");
                    Line($"  round {round + 1} {label,-20} c=1  {one}");
                }
            }

            Summarize(targets.Select(t => t.Label).ToArray(), rounds, results);
        }
        finally
        {
            owned.Reverse();
            foreach (var resource in owned)
            {
                await resource.DisposeAsync();
            }
        }

        var dir = Path.Combine(RepoRoot(), "bench-results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway-knobs.txt"), _report.ToString());
    }

    static string Label(string kind, RuntimeKnob knob) => $"{kind}:{knob.Name}";

    /// <summary>Per target: req/s per round, its ratio to nginx and to the base of its kind per round, mean p99s;
    /// the verdict against the base's spread (max − min of its req/s ratio to nginx over the rounds, relative).</summary>
    void Summarize(string[] labels, int rounds, Dictionary<(string Label, int Round), (Result Many, Result One)> results)
    {
        double[] PerRound(Func<int, double> f) => Enumerable.Range(0, rounds).Select(f).ToArray();
        string Format(double[] values) => string.Join(" / ", values.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)));
        var hasNginx = labels.Contains("nginx");

        Line("");
        Line("| target | req/s c=64 per round | to nginx per round | to its base per round | to floor per round | p99 c=64 mean (ms) | p99 c=1 mean (ms) | verdict |");
        Line("|---|---|---|---|---|---|---|---|");
        foreach (var label in labels)
        {
            var rps = PerRound(i => results[(label, i)].Many.Rps);
            var toNginx = hasNginx ? PerRound(i => rps[i] / results[("nginx", i)].Many.Rps) : [];
            var kind = label.Split(':')[0];
            var baseLabel = $"{kind}:base";
            var hasBase = label.Contains(':') && label != baseLabel && labels.Contains(baseLabel);
            var toBase = hasBase ? PerRound(i => rps[i] / results[(baseLabel, i)].Many.Rps) : [];
            var floorLabel = labels.Contains($"floor:{label.Split(':').Last()}") ? $"floor:{label.Split(':').Last()}" : "floor:base";
            var toFloor = kind == "gateway" && labels.Contains(floorLabel) ? PerRound(i => rps[i] / results[(floorLabel, i)].Many.Rps) : [];
            var verdict = "";
            if (hasBase && hasNginx)
            {
                var baseToNginx = PerRound(i => results[(baseLabel, i)].Many.Rps / results[("nginx", i)].Many.Rps);
                var spread = (baseToNginx.Max() - baseToNginx.Min()) / baseToNginx.Average();
                var gain = toBase.Average() - 1;
                verdict = toBase.All(x => x > 1) || gain > spread ? $"win ({gain:+0.0%;-0.0%}, spread {spread:0.0%})"
                    : toBase.All(x => x < 1) || -gain > spread ? $"loss ({gain:+0.0%;-0.0%}, spread {spread:0.0%})"
                    : $"within noise ({gain:+0.0%;-0.0%}, spread {spread:0.0%})";
            }

            Line(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {string.Join(" / ", rps.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} | {Format(toNginx)} | {Format(toBase)} | {Format(toFloor)} | {PerRound(i => results[(label, i)].Many.P99).Average():F2} | {PerRound(i => results[(label, i)].One.P99).Average():F2} | {verdict} |"));
        }
    }
}
