using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.EndToEnd;

/// <summary>
/// Time from POST /deploy/llm to "running" for the tiny model, against the baseline of starting the same
/// worker process by hand until its /health answers (what no control plane can beat). Not a test: runs
/// only with DEEPDEPLOY_BENCH=1.
/// </summary>
[Trait("Category", "Benchmark")]
[Collection(SystemCollection.Name)]
public sealed class DeployBenchmark(TinyModelFixture model, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    const int Rounds = 5;

    [BenchmarkFact]
    public async Task Post_to_running_against_a_bare_worker_start()
    {
        var bare = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            await using var worker = await WorkerProcess.StartAsync(model.ModelPath, ["--max-batch-size", "4"]);
            await worker.WaitHealthyAsync();
            bare.Add(clock.Elapsed.TotalMilliseconds);
        }

        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("bench"));
        var deploy = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            var created = await client.PostAsJsonAsync("/deploy/llm", new
            {
                model_name = $"bench-{i}",
                gpu = "A100-80GB",
                max_batch_size = 4,
                hf = new { repo = "deepdeploy/tiny-llama-gguf" },
            });
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
            await RunningSystem.WaitForAsync(client, id, d => d.GetProperty("status").GetString() == "running"
                && d.GetProperty("instances").GetProperty("running").GetInt32() == 1, TimeSpan.FromSeconds(60));
            deploy.Add(clock.Elapsed.TotalMilliseconds);
            await client.DeleteAsync($"/deploy/{id}");
        }

        // The first deploy downloads the weights into the node cache; the later ones hit the cache.
        var report = string.Create(CultureInfo.InvariantCulture,
            $"bare worker start→healthy ms: {string.Join(", ", bare.Select(b => b.ToString("F0", CultureInfo.InvariantCulture)))} (median {Median(bare):F0})\n" +
            $"POST /deploy/llm→running ms: {string.Join(", ", deploy.Select(b => b.ToString("F0", CultureInfo.InvariantCulture)))} (median {Median(deploy):F0}, first {deploy[0]:F0} incl. download)\n" +
            $"ratio deploy/bare (medians): {Median(deploy) / Median(bare):F2}");
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.Equal(Rounds, deploy.Count);
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
