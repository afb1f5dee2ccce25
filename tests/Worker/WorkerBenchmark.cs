using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// Throughput of a real worker process on the tiny model: aggregate completion tokens/s with 1 and with 4
/// concurrent requests (max_batch_size 4, 1 thread). Not a test: runs only with DEEPDEPLOY_BENCH=1, e.g.
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests/DeepDeploy.Tests.csproj --filter Category=Benchmark</c>.
/// Prints to the test output and writes bench-results/worker.txt at the repository root.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class WorkerBenchmark(TinyModelFixture model, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    const int MaxTokens = 200;
    const int Rounds = 5;

    [BenchmarkFact]
    public async Task Aggregate_tokens_per_second_at_1_and_4_concurrent_requests()
    {
        var worker = await WorkerProcess.StartAsync(model.ModelPath, ["--max-batch-size", "4", "--threads", "1"]);
        try
        {
            await worker.WaitHealthyAsync();
            await RunAsync(worker, concurrency: 4, rounds: 1); // warm-up (JIT, first graph allocation)

            var single = await RunAsync(worker, concurrency: 1, rounds: Rounds);
            var four = await RunAsync(worker, concurrency: 4, rounds: Rounds);
            var peak = await worker.MetricAsync("deepdeploy_worker_requests_running_peak");

            var report = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy worker benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
                .AppendLine(CultureInfo.InvariantCulture, $"model: tiny llama GGUF (n_embd 64, 2 layers, F32), max_tokens {MaxTokens}, {Rounds} rounds, temperature 0.8, --threads 1, --max-batch-size 4, {Environment.ProcessorCount} cores")
                .AppendLine(CultureInfo.InvariantCulture, $"concurrency 1: {single.Tokens} tokens in {single.Seconds:F2} s = {single.TokensPerSecond:F0} tokens/s")
                .AppendLine(CultureInfo.InvariantCulture, $"concurrency 4: {four.Tokens} tokens in {four.Seconds:F2} s = {four.TokensPerSecond:F0} tokens/s")
                .AppendLine(CultureInfo.InvariantCulture, $"ratio 4/1: {four.TokensPerSecond / single.TokensPerSecond:F2}")
                .AppendLine(CultureInfo.InvariantCulture, $"requests_running_peak: {peak}")
                .ToString();
            output.WriteLine(report);

            var dir = Path.Combine(FindRepoRoot(), "bench-results");
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "worker.txt"), report);

            Assert.Equal(Rounds * MaxTokens, single.Tokens);
            Assert.Equal(Rounds * 4 * MaxTokens, four.Tokens);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    static async Task<(long Tokens, double Seconds, double TokensPerSecond)> RunAsync(WorkerProcess worker, int concurrency, int rounds)
    {
        long tokens = 0;
        var sw = Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            var batch = Enumerable.Range(0, concurrency).Select(i => WorkerApi.PostAsync(worker.Http, "/v1/completions",
                new JsonObject
                {
                    ["prompt"] = $"benchmark round {r} request {i}",
                    ["max_tokens"] = MaxTokens,
                    ["temperature"] = 0.8,
                    ["seed"] = r * 100 + i,
                }));
            foreach (var (status, body) in await Task.WhenAll(batch))
            {
                Assert.True(status == 200, body.ToString());
                tokens += body.GetProperty("usage").GetProperty("completion_tokens").GetInt64();
            }
        }
        sw.Stop();
        return (tokens, sw.Elapsed.TotalSeconds, tokens / sw.Elapsed.TotalSeconds);
    }

    /// <summary>The machine's 1-minute load average (Linux), to tell whether the phases of a benchmark ran under
    /// alike load.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    internal static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.DeepDeploy.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
