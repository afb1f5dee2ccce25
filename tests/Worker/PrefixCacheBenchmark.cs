using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.LocalHub;
using Xunit;
using Xunit.Abstractions;
using Metrics = DeepDeploy.WorkerProtocol.WorkerProtocol.Metrics;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// A shared-prefix workload on one worker with and without the prefix cache: 10 system prompts of ~1k tokens,
/// 3 short questions each, asked round-robin over the prompts by 4 concurrent clients (closed loop), streamed.
/// Prints time to first token p50/p90, completion tokens/s and the cache's hit rate; writes
/// bench-results/worker-prefix-cache.txt. Opt-in:
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests --filter FullyQualifiedName~PrefixCacheBenchmark</c>
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class PrefixCacheBenchmark(ITestOutputHelper output)
{
    /// <summary>Smaller than <see cref="LlamaShape.Bench"/> (~4 M parameters) so that the uncached run, which
    /// prefills 30 k tokens, ends in minutes on a shared machine; large enough that prefill dominates.</summary>
    static readonly LlamaShape Shape = new(256, 4, 4, 768);

    const int Prompts = 10;
    const int Questions = 3;
    const int Clients = 4;
    const int PrefixTokens = 1000;
    const int MaxTokens = 16;

    [BenchmarkFact]
    public async Task Time_to_first_token_with_and_without_the_prefix_cache()
    {
        var dir = Path.Combine(Path.GetTempPath(), "deepdeploy-prefix-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var modelPath = Path.Combine(dir, "model.gguf");
            TinyLlamaGguf.Write(modelPath, seed: 42, Shape);
            await RunAsync(modelPath);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    async Task RunAsync(string modelPath)
    {
        var systems = BenchmarkPrompts.SystemPrompts(modelPath, Prompts, PrefixTokens);
        var requests = Enumerable.Range(0, Questions)
            .SelectMany(q => Enumerable.Range(0, Prompts).Select(p => (System: systems[p], Question: BenchmarkPrompts.Question(p, q))))
            .ToList();

        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy worker prefix-cache benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
            .AppendLine(CultureInfo.InvariantCulture, $"model: random llama {Shape}, --threads 1, --max-batch-size {Clients}; {Prompts} system prompts of >= {PrefixTokens} tokens x {Questions} questions, {Clients} concurrent clients, max_tokens {MaxTokens}; {Environment.ProcessorCount} shared cores (noisy)");
        foreach (var cacheTokens in new[] { 0, 16384 })
        {
            await using var worker = await WorkerProcess.StartAsync(modelPath,
                ["--max-batch-size", Clients.ToString(CultureInfo.InvariantCulture), "--max-queue", "64", "--context-size", "8192",
                 "--prefix-cache-tokens", cacheTokens.ToString(CultureInfo.InvariantCulture)]);
            await worker.WaitHealthyAsync(TimeSpan.FromSeconds(120));

            var ttft = new List<double>();
            long completion = 0;
            var next = -1;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests.Count)
                {
                    var (first, tokens) = await StreamAsync(worker, requests[i].System, requests[i].Question);
                    lock (ttft)
                    {
                        ttft.Add(first);
                        completion += tokens;
                    }
                }
            }));
            sw.Stop();

            var hits = await worker.MetricAsync(Metrics.PrefixCacheHits);
            var misses = await worker.MetricAsync(Metrics.PrefixCacheMisses);
            var hitTokens = await worker.MetricAsync(Metrics.PrefixCacheHitTokens);
            var promptTokens = await worker.MetricAsync(Metrics.PromptTokens);
            ttft.Sort();
            report.AppendLine(CultureInfo.InvariantCulture,
                $"--prefix-cache-tokens {cacheTokens,5}: TTFT p50 {Percentile(ttft, 0.5):F2} s, p90 {Percentile(ttft, 0.9):F2} s; " +
                $"{completion / sw.Elapsed.TotalSeconds:F1} completion tokens/s, {requests.Count / sw.Elapsed.TotalSeconds:F2} requests/s over {sw.Elapsed.TotalSeconds:F1} s; " +
                $"hit rate {(hits + misses > 0 ? hits / (hits + misses) : 0):P0} of requests, {(promptTokens > 0 ? hitTokens / promptTokens : 0):P0} of prompt tokens reused");
        }

        output.WriteLine(report.ToString());
        var results = Path.Combine(WorkerBenchmark.FindRepoRoot(), "bench-results");
        Directory.CreateDirectory(results);
        await File.WriteAllTextAsync(Path.Combine(results, "worker-prefix-cache.txt"), report.ToString());
    }

    /// <summary>Streams one chat completion; returns the seconds to the first chunk and the completion tokens.</summary>
    static async Task<(double FirstToken, long Tokens)> StreamAsync(WorkerProcess worker, string system, string question)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = system },
                new JsonObject { ["role"] = "user", ["content"] = question }),
            ["max_tokens"] = MaxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
        };
        var sw = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await worker.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double? first = null;
        string? last = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            first ??= sw.Elapsed.TotalSeconds;
            if (line != "data: [DONE]")
            {
                last = line["data: ".Length..];
            }
        }

        var usage = JsonDocument.Parse(last!).RootElement.GetProperty("usage");
        return (first!.Value, usage.GetProperty("completion_tokens").GetInt64());
    }

    static double Percentile(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
}
