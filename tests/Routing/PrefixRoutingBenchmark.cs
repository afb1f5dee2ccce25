using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepDeploy.Gateway.Inference.Routing;
using DeepDeploy.LocalHub;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Routing;

/// <summary>
/// Routing policies side by side on a shared-prefix multi-tenant workload: the real all-in-one host (gateway,
/// node, hub) in front of <see cref="Instances"/> real gpu-worker instances of a random-weights llama the benchmark
/// writes into the local hub. <see cref="Prompts"/> system prompts of <see cref="PrefixTokens"/> tokens, a few short
/// questions each, shuffled, Poisson arrivals at <see cref="Rate"/> requests/s, streamed through the gateway with
/// <c>X-DeepDeploy-Routing</c>; each instance's prefix cache holds about half the prompts, so only a router that
/// keeps a prompt on one instance gets hits for most of them (the first question of each prompt is cold whatever
/// the policy: 1 in <see cref="QuestionsPerPrompt"/>). Each policy gets its own prompts (no prefix shared
/// with another policy's). Prints TTFT p50/p90/p99, throughput and the cache hit rate (from
/// <c>usage.prompt_tokens_details.cached_tokens</c>) per policy and writes bench-results/routing-prefix.txt. Opt-in:
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests --filter FullyQualifiedName~PrefixRoutingBenchmark</c>
/// (<c>DEEPDEPLOY_BENCH_ROUTING_RATE</c> sets the arrival rate, <c>DEEPDEPLOY_BENCH_ROUTING_THREADS</c> each
/// instance's <c>--threads</c>).
/// </summary>
[Trait("Category", "Benchmark")]
[Collection(SystemCollection.Name)]
public sealed class PrefixRoutingBenchmark(ITestOutputHelper output)
{
    /// <summary>The prefix-cache benchmark's 4 M-parameter shape: a cold 512-token prompt costs about a second of
    /// CPU here, a cached one a few steps.</summary>
    static readonly LlamaShape Shape = new(256, 4, 4, 768);

    const int Instances = 2;
    const int MaxBatchSize = 4;
    const int Prompts = 8;
    const int QuestionsPerPrompt = 12;
    const int PrefixTokens = 512;
    const int MaxTokens = 8;

    /// <summary>Room for about half of the prompts on each instance.</summary>
    const int CacheTokens = Prompts * PrefixTokens / 2;

    const string Model = "bench/shared";

    static readonly string[] Policies = ["random", "round-robin", "least-loaded", "prefix"];

    static double Rate => double.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_RATE"),
        CultureInfo.InvariantCulture, out var rate) ? rate : 1.0;

    /// <summary>llama.cpp threads per instance (<c>DEEPDEPLOY_BENCH_ROUTING_THREADS</c>, default 1).</summary>
    static int Threads => int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_THREADS"), NumberStyles.Integer,
        CultureInfo.InvariantCulture, out var threads) ? threads : 1;

    [BenchmarkFact]
    public async Task Shared_prefix_workload_under_each_routing_policy()
    {
        var dataDir = SystemHttp.NewDataDirectory("deepdeploy-routing-bench-");
        try
        {
            var repo = Directory.CreateDirectory(Path.Combine(dataDir, "hub", "deepdeploy", "bench-llama-gguf")).FullName;
            var modelPath = Path.Combine(repo, "bench-llama.gguf");
            TinyLlamaGguf.Write(modelPath, seed: 42, Shape);
            await using var system = await RunningSystem.StartAsync(dataDir, new Dictionary<string, string>
            {
                ["DeepDeploy:Node:WorkerArgs"] =
                    $"--threads {Threads} --context-size {MaxBatchSize * 1024} --prefix-cache-tokens {CacheTokens} --max-queue 256",
            });
            var token = await system.CreateUserAsync("bench");
            using var client = system.Client(token);
            var created = await client.PostAsJsonAsync("/deploy/llm", new
            {
                model_name = "shared",
                gpu = "A100-80GB",
                num_gpus = 1,
                max_batch_size = MaxBatchSize,
                hf = new { repo = "deepdeploy/bench-llama-gguf" },
                settings = new { min_instances = Instances, max_instances = Instances },
            });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            var deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
            await RunningSystem.WaitForAsync(client, deployId, d => d.GetProperty("instances").GetProperty("running").GetInt32() == Instances,
                TimeSpan.FromMinutes(3));
            await GatewaySystem.LaneAsync(system, Model, Instances);

            var report = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy prefix-aware routing benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
                .AppendLine(CultureInfo.InvariantCulture, $"all-in-one host, {Instances} gpu-worker instances of a random llama {Shape} (--threads {Threads}, max_batch_size {MaxBatchSize}, --prefix-cache-tokens {CacheTokens})")
                .AppendLine(CultureInfo.InvariantCulture, $"{Prompts} system prompts of >= {PrefixTokens} tokens x {QuestionsPerPrompt} questions, shuffled, Poisson arrivals at {Rate:F2} req/s, streamed, max_tokens {MaxTokens}; {Environment.ProcessorCount} shared cores (noisy)");
            var results = new Dictionary<string, PolicyResult>();
            foreach (var policy in Policies)
            {
                var prompts = BenchmarkPrompts.SystemPrompts(modelPath, Prompts, PrefixTokens, tag: $"{policy} tenant. ");
                var result = results[policy] = await RunPolicyAsync(client, policy, prompts);
                report.AppendLine(CultureInfo.InvariantCulture, $"  {policy,-13} {result}");
                output.WriteLine($"{policy}: {result}");
            }

            var (prefix, leastLoaded) = (results[RoutingPolicies.Prefix.Name], results[RoutingPolicies.LeastLoaded.Name]);
            report.AppendLine(CultureInfo.InvariantCulture,
                $"prefix / least-loaded: TTFT p90 {prefix.P90 / leastLoaded.P90:F2}x, throughput {prefix.RequestsPerSecond / leastLoaded.RequestsPerSecond:F2}x");
            output.WriteLine(report.ToString());
            var resultsDir = Directory.CreateDirectory(Path.Combine(WorkerBenchmark.FindRepoRoot(), "bench-results")).FullName;
            await File.WriteAllTextAsync(Path.Combine(resultsDir, "routing-prefix.txt"), report.ToString());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>The workload, open loop: each request starts at its Poisson arrival time whatever the others do.</summary>
    static async Task<PolicyResult> RunPolicyAsync(HttpClient client, string policy, List<string> prompts)
    {
        var random = new Random(7);
        var order = Enumerable.Range(0, Prompts * QuestionsPerPrompt).Select(i => (Prompt: i % Prompts, Question: i / Prompts))
            .OrderBy(_ => random.Next()).ToArray();
        var calls = new List<Task<Call>>();
        var clock = Stopwatch.StartNew();
        var at = 0.0;
        foreach (var (prompt, question) in order)
        {
            var wait = TimeSpan.FromSeconds(at) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            calls.Add(StreamAsync(client, policy, prompts[prompt], BenchmarkPrompts.Question(prompt, question)));
            at += -Math.Log(1 - random.NextDouble()) / Rate;
        }

        var done = await Task.WhenAll(calls);
        return new PolicyResult(done, clock.Elapsed.TotalSeconds);
    }

    static async Task<Call> StreamAsync(HttpClient client, string policy, string system, string question)
    {
        var body = JsonSerializer.Serialize(new
        {
            model = Model,
            messages = new[] { new { role = "system", content = system }, new { role = "user", content = question } },
            max_tokens = MaxTokens,
            temperature = 0,
            stream = true,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(RoutingPolicies.Header, policy);
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double? first = null;
        string? last = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                first ??= clock.Elapsed.TotalSeconds;
                last = line != "data: [DONE]" ? line["data: ".Length..] : last;
            }
        }

        var usage = JsonDocument.Parse(last!).RootElement.GetProperty("usage");
        var cached = usage.TryGetProperty("prompt_tokens_details", out var details) ? details.GetProperty("cached_tokens").GetInt64() : 0;
        return new Call(first!.Value, usage.GetProperty("prompt_tokens").GetInt64(), cached, usage.GetProperty("completion_tokens").GetInt64());
    }

    sealed record Call(double FirstToken, long PromptTokens, long CachedTokens, long CompletionTokens);

    sealed class PolicyResult(Call[] calls, double seconds)
    {
        readonly double[] _ttft = [.. calls.Select(c => c.FirstToken).Order()];

        public double P90 => At(0.9);

        public double RequestsPerSecond => calls.Length / seconds;

        double At(double q) => _ttft[Math.Min(_ttft.Length - 1, (int)Math.Ceiling(q * _ttft.Length) - 1)];

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"TTFT p50 {At(0.5):F2} s  p90 {P90:F2} s  p99 {At(0.99):F2} s;  {RequestsPerSecond:F2} req/s, " +
            $"{calls.Sum(c => c.CompletionTokens) / seconds:F1} completion tok/s over {seconds:F0} s;  " +
            $"system prompt cached for {calls.Count(c => c.CachedTokens >= PrefixTokens / 2) * 100.0 / calls.Length:F0}% of requests, " +
            $"{calls.Sum(c => c.CachedTokens) * 100.0 / calls.Sum(c => c.PromptTokens):F0}% of prompt tokens cached");
    }
}
