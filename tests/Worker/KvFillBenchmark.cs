using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using DeepDeploy.LocalHub;
using Xunit;
using Xunit.Abstractions;
using Metrics = DeepDeploy.WorkerProtocol.WorkerProtocol.Metrics;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// Does a worker slow down as its prefix cache fills? One worker on the benchmark-sized model
/// (<see cref="BenchModelFixture"/>), sized as in the routing benchmark's fast form (<c>--threads 1</c>,
/// <c>--max-batch-size 4</c>, <c>--context-size 9216</c>), with a cache that holds every prefix
/// (<see cref="CacheTokens"/>). It retains <see cref="PrefixTokens"/>-token prompts two at a time and, at each fill,
/// decodes one short sequence alone (<see cref="Tokens"/> tokens, greedy) and prefills one new
/// <see cref="ProbeTokens"/>-token prompt alone, <see cref="Rounds"/> times each. The figures are the worker
/// process's CPU time per generated token and per prefilled prompt token (user + system, all threads): a load on the
/// rest of the machine stretches the wall clock, not the CPU time a step needs. Writes bench-results/worker-kv-fill.txt.
/// Opt-in:
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests --filter FullyQualifiedName~KvFillBenchmark</c>
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class KvFillBenchmark(BenchModelFixture model, ITestOutputHelper output) : IClassFixture<BenchModelFixture>
{
    const int PrefixTokens = 1536;
    const int MaxPrefixes = 8;
    const int CacheTokens = 20480;
    const int Tokens = 128;
    const int ProbeTokens = 384;
    const int Rounds = 5;

    [BenchmarkFact]
    public async Task Decode_cost_of_one_sequence_as_the_prefix_cache_fills()
    {
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath,
            ["--threads", "1", "--max-batch-size", "4", "--context-size", "9216", "--max-queue", "64",
             "--prefix-cache-tokens", CacheTokens.ToString(CultureInfo.InvariantCulture)]);
        await worker.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        using var process = Process.GetProcessById(worker.Pid);
        var prefixes = BenchmarkPrompts.SystemPrompts(model.ModelPath, MaxPrefixes, PrefixTokens, tag: "retained. ");
        var probes = new Queue<string>(BenchmarkPrompts.SystemPrompts(model.ModelPath, (MaxPrefixes / 2 + 1) * Rounds + 1, ProbeTokens, tag: "probe. "));
        await CostAsync(worker, process, "warm-up: tell me about the world", Tokens); // JIT, first graph allocation
        await CostAsync(worker, process, probes.Dequeue(), 1);

        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy worker KV-fill benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
            .AppendLine(CultureInfo.InvariantCulture, $"model: random llama {LlamaShape.Bench}; --threads 1, --max-batch-size 4, --context-size 9216, --prefix-cache-tokens {CacheTokens}; one sequence of {Tokens} tokens alone and one cold {ProbeTokens}-token prompt alone, {Rounds} rounds per fill (medians); {Environment.ProcessorCount} shared cores, load average {WorkerBenchmark.LoadAverage()}");
        (double Decode, double Prefill)? empty = null;
        for (var retained = 0; retained <= MaxPrefixes; retained += 2)
        {
            for (var p = Math.Max(0, retained - 2); p < retained; p++)
            {
                var (status, body) = await WorkerApi.PostAsync(worker.Http, "/v1/completions",
                    new JsonObject { ["prompt"] = prefixes[p], ["max_tokens"] = 1, ["temperature"] = 0 });
                Assert.True(status == 200, body.ToString());
            }

            var cache = await worker.MetricAsync(Metrics.PrefixCacheTokens);
            List<double> decode = [], prefill = [];
            for (var round = 0; round < Rounds; round++)
            {
                decode.Add(await CostAsync(worker, process, $"fill {retained} round {round}: tell me about the world", Tokens));
                prefill.Add(await CostAsync(worker, process, probes.Dequeue(), 1));
            }

            var (decodeMs, prefillMs) = (BatchingBenchmark.Median(decode), BatchingBenchmark.Median(prefill));
            empty ??= (decodeMs, prefillMs);
            report.AppendLine(CultureInfo.InvariantCulture,
                $"{retained} prefixes retained ({cache:F0} cache tokens): decode {decodeMs:F2} CPU ms per token ({decodeMs / empty.Value.Decode:F2}x) {BatchingBenchmark.Each(decode, "F3")}; " +
                $"prefill {prefillMs:F3} CPU ms per prompt token ({prefillMs / empty.Value.Prefill:F2}x) {BatchingBenchmark.Each(prefill, "F3")}");
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"load average after: {WorkerBenchmark.LoadAverage()}");
        output.WriteLine(report.ToString());
        var dir = Path.Combine(WorkerBenchmark.FindRepoRoot(), "bench-results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "worker-kv-fill.txt"), report.ToString());
    }

    /// <summary>One request alone: the worker's CPU milliseconds per generated token when <paramref name="maxTokens"/>
    /// is more than 1 (a short prompt: decode), per prompt token otherwise (a long new prompt: prefill).</summary>
    static async Task<double> CostAsync(WorkerProcess worker, Process process, string prompt, int maxTokens)
    {
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var (status, body) = await WorkerApi.PostAsync(worker.Http, "/v1/completions",
            new JsonObject { ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0 });
        process.Refresh();
        Assert.True(status == 200, body.ToString());
        var usage = body.GetProperty("usage");
        var tokens = usage.GetProperty(maxTokens > 1 ? "completion_tokens" : "prompt_tokens").GetInt64();
        return (process.TotalProcessorTime - cpu).TotalMilliseconds / tokens;
    }
}
