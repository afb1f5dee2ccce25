using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// Does continuous batching pay? On the benchmark-sized model (<see cref="BenchModelFixture"/>), a real worker
/// process serves 1 and then 8 concurrent completions; the same work runs in <see cref="BaselineDecodeLoop"/>
/// in this process, in the same run. Prints aggregate tokens/s, the 8/1 ratio and worker/baseline ratios; writes
/// bench-results/worker-batching.txt. Opt-in:
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests --filter FullyQualifiedName~BatchingBenchmark</c>
/// (DEEPDEPLOY_BENCH_THREADS=1,2 to compare thread counts; default 1).
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class BatchingBenchmark(BenchModelFixture model, ITestOutputHelper output) : IClassFixture<BenchModelFixture>
{
    const int Tokens = 64;
    const int Live = 8;
    const int Rounds = 3;

    [BenchmarkFact]
    public async Task Aggregate_tokens_per_second_at_1_and_8_live_sequences_against_a_minimal_loop()
    {
        var threads = (Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_THREADS") ?? "1")
            .Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture));
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy worker batching benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
            .AppendLine(CultureInfo.InvariantCulture, $"model: random llama n_embd 512, 8 layers, 8 heads, n_ff 1536, F32 (~27 M parameters); {Tokens} tokens per sequence, greedy; {Environment.ProcessorCount} cores (shared: figures are noisy)");
        foreach (var t in threads)
        {
            var prompts = Enumerable.Range(0, Live).Select(i => $"benchmark request {i}: tell me about the world").ToList();
            await using var worker = await WorkerProcess.StartAsync(model.ModelPath,
                ["--max-batch-size", Live.ToString(CultureInfo.InvariantCulture), "--threads", t.ToString(CultureInfo.InvariantCulture),
                 "--prefix-cache-tokens", "0"]);
            await worker.WaitHealthyAsync(TimeSpan.FromSeconds(120));
            // Warm-up until tiered compilation is done: after 2 short requests the JIT thread still used 150-220 ms
            // of CPU per timed round of ~1 s, taking a core from the decode; after three 8-sequence runs, ~20 ms.
            for (var i = 0; i < 3; i++)
            {
                await RunAsync(worker, prompts);
            }

            using var baseline = new BaselineDecodeLoop(model.ModelPath, t);
            // Interleaved rounds, medians: the machine's load drifts, and both sides should see the same drift.
            List<double> one = [], eight = [], baseline1 = [], baseline8 = [];
            List<double> cpuWorker8 = [], cpuBaseline8 = [];
            for (var round = 0; round < Rounds; round++)
            {
                baseline1.Add(baseline.Run(prompts[..1], Tokens).TokensPerSecond);
                one.Add(await RunAsync(worker, prompts[..1]));
                var b8 = baseline.Run(prompts, Tokens);
                baseline8.Add(b8.TokensPerSecond);
                cpuBaseline8.Add(b8.CpuPerToken.TotalMicroseconds);
                var cpu = WorkerCpu(worker);
                eight.Add(await RunAsync(worker, prompts));
                cpuWorker8.Add((WorkerCpu(worker) - cpu).TotalMicroseconds / (Live * Tokens));
            }

            report
                .AppendLine(CultureInfo.InvariantCulture, $"--threads {t}:")
                .AppendLine(CultureInfo.InvariantCulture, $"  worker   1 sequence : {Median(one):F0} tokens/s  {Each(one)}")
                .AppendLine(CultureInfo.InvariantCulture, $"  worker   {Live} sequences: {Median(eight):F0} tokens/s  {Each(eight)}  (ratio {Live}/1 = {Median(eight) / Median(one):F2})")
                .AppendLine(CultureInfo.InvariantCulture, $"  baseline 1 sequence : {Median(baseline1):F0} tokens/s  {Each(baseline1)}")
                .AppendLine(CultureInfo.InvariantCulture, $"  baseline {Live} sequences: {Median(baseline8):F0} tokens/s  {Each(baseline8)}  (ratio {Live}/1 = {Median(baseline8) / Median(baseline1):F2})")
                .AppendLine(CultureInfo.InvariantCulture, $"  worker/baseline at {Live}: {Median(eight) / Median(baseline8):F2}; at 1: {Median(one) / Median(baseline1):F2}")
                .AppendLine(CultureInfo.InvariantCulture, $"  CPU per token at {Live}: worker {Median(cpuWorker8):F0} us {Each(cpuWorker8)}, baseline {Median(cpuBaseline8):F0} us {Each(cpuBaseline8)} (worker/baseline {Median(cpuWorker8) / Median(cpuBaseline8):F2}; spin-waits count, so load inflates both)");
        }

        output.WriteLine(report.ToString());
        var dir = Path.Combine(WorkerBenchmark.FindRepoRoot(), "bench-results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "worker-batching.txt"), report.ToString());
    }

    /// <summary>The worker process's CPU time (all its threads, exited ones included).</summary>
    static TimeSpan WorkerCpu(WorkerProcess worker)
    {
        using var p = Process.GetProcessById(worker.Pid);
        return p.TotalProcessorTime;
    }

    internal static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Each round's figure, for the report: "[174, 169, 180]".</summary>
    internal static string Each(List<double> values, string format = "F0") =>
        "[" + string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture))) + "]";

    /// <summary>All prompts at once, each generating <see cref="Tokens"/> tokens; aggregate completion tokens/s.</summary>
    static async Task<double> RunAsync(WorkerProcess worker, IReadOnlyList<string> prompts)
    {
        var sw = Stopwatch.StartNew();
        var answers = await Task.WhenAll(prompts.Select(p => WorkerApi.PostAsync(worker.Http, "/v1/completions",
            new JsonObject { ["prompt"] = p, ["max_tokens"] = Tokens, ["temperature"] = 0 })));
        sw.Stop();
        long tokens = 0;
        foreach (var (status, body) in answers)
        {
            Assert.True(status == 200, body.ToString());
            tokens += body.GetProperty("usage").GetProperty("completion_tokens").GetInt64();
        }

        return tokens / sw.Elapsed.TotalSeconds;
    }
}
