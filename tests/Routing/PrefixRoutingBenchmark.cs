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
/// Routing policies side by side on the issue's shared-prefix multi-tenant workload: the real all-in-one host
/// (gateway, node, hub) in front of <see cref="Instances"/> real gpu-worker instances of a random-weights llama the
/// benchmark writes into the local hub. <see cref="Prompts"/> system prompts of <see cref="MinPrefixTokens"/> to
/// 2x as many tokens, <see cref="QuestionsPerPrompt"/> short questions each, shuffled, Poisson arrivals at
/// a rate set from the capacity a calibration phase measures (<see cref="Load"/> x the requests/s least-loaded
/// sustains in a closed loop; <see cref="FixedRate"/> overrides it), streamed through the gateway with <c>X-DeepDeploy-Routing</c>. Each instance's
/// prefix cache (<c>--prefix-cache-tokens</c>, <see cref="CacheTokens"/>) is sized for its share of the prompts
/// (prompts / instances), so a router that keeps a prompt on one instance finds it cached, one that spreads every
/// prompt over all instances thrashes; the first question of each prompt is cold whatever the policy. Each policy
/// gets its own prompts (no prefix shared with another policy's). Prints TTFT p50/p90/p99, throughput and the cache
/// hit rate (from <c>usage.prompt_tokens_details.cached_tokens</c>) per policy and writes
/// bench-results/routing-prefix.txt. Opt-in:
/// <c>DEEPDEPLOY_BENCH=1 dotnet test tests --filter FullyQualifiedName~PrefixRoutingBenchmark</c> runs the issue's
/// shape (20 prompts of 1,024-2,048 tokens x 10 questions on the ~27 M model, 2 instances); <c>QUICK=1</c> a small
/// one; every size has an environment variable <c>DEEPDEPLOY_BENCH_ROUTING_*</c> (QUICK, LOAD, RATE, THREADS,
/// INSTANCES, PROMPTS, QUESTIONS, TOKENS, CACHE, MODEL = small|bench, POLICIES) (docs/gateway.md).
/// </summary>
[Trait("Category", "Benchmark")]
[Collection(SystemCollection.Name)]
public sealed class PrefixRoutingBenchmark(ITestOutputHelper output)
{
    /// <summary><c>DEEPDEPLOY_BENCH_ROUTING_QUICK=1</c>: minutes on 2 cores instead of the issue's shape (the 4 M model,
    /// 6 prompts of 256-512 tokens x 4 questions); each size below still has its own variable.</summary>
    static readonly bool Quick = Setting("QUICK", 0) == 1;

    /// <summary><see cref="LlamaShape.Bench"/> (~27 M parameters) by default, so that prefill costs real CPU time;
    /// <c>MODEL=small</c>: a 4 M-parameter shape.</summary>
    static readonly LlamaShape Shape = Setting("MODEL", Quick ? "small" : "bench") == "bench" ? LlamaShape.Bench : new(256, 4, 4, 768);

    static readonly int Instances = Setting("INSTANCES", 2);
    const int MaxBatchSize = 4;
    static readonly int Prompts = Setting("PROMPTS", Quick ? 6 : 20);
    static readonly int QuestionsPerPrompt = Setting("QUESTIONS", Quick ? 4 : 10);
    static readonly int MinPrefixTokens = Setting("TOKENS", Quick ? 256 : 1024);
    static int MaxPrefixTokens => 2 * MinPrefixTokens;
    const int MaxTokens = 8;

    /// <summary>Each instance's share of the prompts (prompts / instances, rounded up) at their average length, and a
    /// quarter more for the questions' own tokens: a request that reuses a cached prompt is charged only its own
    /// tokens (docs/worker.md); <c>DEEPDEPLOY_BENCH_ROUTING_CACHE</c> overrides it.</summary>
    static int CacheTokens => Setting("CACHE", (Prompts + Instances - 1) / Instances * (MinPrefixTokens + MaxPrefixTokens) / 2 * 5 / 4);

    const string Model = "bench/shared";

    static string[] Policies => Setting("POLICIES", "random,round-robin,least-loaded,prefix").Split(',');

    /// <summary>A fixed arrival rate (<c>RATE</c>, requests/s); when unset, <see cref="Load"/> x the capacity the
    /// calibration measures.</summary>
    static double? FixedRate => double.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_RATE"),
        CultureInfo.InvariantCulture, out var rate) ? rate : null;

    /// <summary>The arrival rate as a part of the measured capacity (<c>LOAD</c>, default 0.8: near capacity, where
    /// least-loaded queues and a router that saves prefill has room to win).</summary>
    static double Load => double.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_LOAD"),
        CultureInfo.InvariantCulture, out var load) ? load : 0.8;

    /// <summary>llama.cpp threads per instance (<c>DEEPDEPLOY_BENCH_ROUTING_THREADS</c>, default 1).</summary>
    static int Threads => Setting("THREADS", 1);

    static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_" + name), NumberStyles.Integer,
            CultureInfo.InvariantCulture, out var value) ? value : fallback;

    static string Setting(string name, string fallback) =>
        Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_ROUTING_" + name) is { Length: > 0 } value ? value : fallback;

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
                    $"--threads {Threads} --context-size {MaxBatchSize * (MaxPrefixTokens + 256)} --prefix-cache-tokens {CacheTokens} --max-queue 1024",
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

            var calibration = await CalibrateAsync(client, modelPath);
            var rate = FixedRate ?? Load * calibration.RequestsPerSecond;
            var report = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"DeepDeploy prefix-aware routing benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z")
                .AppendLine(CultureInfo.InvariantCulture, $"all-in-one host, {Instances} gpu-worker instances of a random llama {Shape} (--threads {Threads}, max_batch_size {MaxBatchSize}, --prefix-cache-tokens {CacheTokens})")
                .AppendLine(CultureInfo.InvariantCulture, $"calibration (least-loaded, closed loop of {Instances * MaxBatchSize}): {calibration}")
                .AppendLine(CultureInfo.InvariantCulture, $"{Prompts} system prompts of {MinPrefixTokens}-{MaxPrefixTokens} tokens x {QuestionsPerPrompt} questions, shuffled, Poisson arrivals at {rate:F3} req/s ({(FixedRate is null ? $"{Load:F2} x the calibrated capacity" : "fixed")}), streamed, max_tokens {MaxTokens}; {Environment.ProcessorCount} shared cores (noisy)");
            var results = new Dictionary<string, PolicyResult>();
            foreach (var policy in Policies)
            {
                var prompts = BenchmarkPrompts.SystemPrompts(modelPath, Prompts, MinPrefixTokens, tag: $"{policy} tenant. ", maxTokens: MaxPrefixTokens);
                var result = results[policy] = await RunPolicyAsync(client, policy, prompts, rate, calibration.PrefillTokensPerSecond);
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

    /// <summary>The capacity the arrival rate is set from: a closed loop of instances x max_batch_size concurrent
    /// least-loaded requests over prompts of the workload's lengths (its own, no prefix shared with the policies'),
    /// each asked once unmeasured (warming the workers) and then up to 3 more times, measured; then one cold prompt
    /// alone (the prefill speed without queueing).</summary>
    static async Task<Calibration> CalibrateAsync(HttpClient client, string modelPath)
    {
        var concurrency = Instances * MaxBatchSize;
        var prompts = BenchmarkPrompts.SystemPrompts(modelPath, concurrency + 1, MinPrefixTokens, tag: "calibration tenant. ", maxTokens: MaxPrefixTokens);
        await ClosedLoopAsync(client, prompts, concurrency, 0, 1);
        var asks = Math.Min(3, QuestionsPerPrompt);
        var clock = Stopwatch.StartNew();
        await ClosedLoopAsync(client, prompts, concurrency, 1, asks);
        var capacity = concurrency * asks / clock.Elapsed.TotalSeconds;
        var solo = await StreamAsync(client, RoutingPolicies.LeastLoaded.Name, prompts[^1], BenchmarkPrompts.Question(0, 0));
        return new Calibration(capacity, (solo.PromptTokens - solo.CachedTokens) / solo.FirstToken);
    }

    /// <summary>Questions <paramref name="first"/> to first + asks - 1 of the first <paramref name="concurrency"/>
    /// prompts, <paramref name="concurrency"/> at a time.</summary>
    static async Task ClosedLoopAsync(HttpClient client, List<string> prompts, int concurrency, int first, int asks)
    {
        var work = new System.Collections.Concurrent.ConcurrentQueue<int>(Enumerable.Range(0, concurrency * asks));
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (work.TryDequeue(out var i))
            {
                var (prompt, question) = (i % concurrency, first + i / concurrency);
                await StreamAsync(client, RoutingPolicies.LeastLoaded.Name, prompts[prompt], BenchmarkPrompts.Question(prompt, question));
            }
        }));
    }

    sealed record Calibration(double RequestsPerSecond, double PrefillTokensPerSecond)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"capacity {RequestsPerSecond:F3} req/s; one cold prompt alone prefills at {PrefillTokensPerSecond:F0} tokens/s");
    }

    /// <summary>The workload, open loop: each request starts at its Poisson arrival time whatever the others do.</summary>
    static async Task<PolicyResult> RunPolicyAsync(HttpClient client, string policy, List<string> prompts, double rate, double prefillRate)
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
            at += -Math.Log(1 - random.NextDouble()) / rate;
        }

        var done = await Task.WhenAll(calls);
        return new PolicyResult(done, clock.Elapsed.TotalSeconds, prefillRate);
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
        if (!response.IsSuccessStatusCode)
        {
            // Over capacity the gateway drops what waited too long (queue_timeout): it never got a first token.
            var error = await response.Content.ReadAsStringAsync();
            Assert.True(error.Contains("queue_timeout", StringComparison.Ordinal) || error.Contains("queue_full", StringComparison.Ordinal), error);
            return new Call(double.PositiveInfinity, 0, 0, 0, double.PositiveInfinity);
        }

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
        return new Call(first!.Value, usage.GetProperty("prompt_tokens").GetInt64(), cached, usage.GetProperty("completion_tokens").GetInt64(),
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>One request; a dropped one has an infinite time to first token (it counts in the percentiles).</summary>
    sealed record Call(double FirstToken, long PromptTokens, long CachedTokens, long CompletionTokens, double Total)
    {
        public bool Dropped => double.IsPositiveInfinity(FirstToken);
    }

    /// <summary>The figures of one policy. Where the time to first token goes, on average over the served requests:
    /// prefill = the uncached prompt tokens at the solo prefill speed, queue = the rest of the TTFT (waiting in the
    /// gateway or the worker, and prefill slowed by sharing the step); decode = last token - first token.</summary>
    sealed class PolicyResult(Call[] calls, double seconds, double prefillRate)
    {
        readonly Call[] _served = [.. calls.Where(c => !c.Dropped)];

        readonly double[] _ttft = [.. calls.Select(c => c.FirstToken).Order()];

        public double P90 => At(0.9);

        public double RequestsPerSecond => calls.Count(c => !c.Dropped) / seconds;

        double At(double q) => _ttft[Math.Min(_ttft.Length - 1, (int)Math.Ceiling(q * _ttft.Length) - 1)];

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"TTFT p50 {At(0.5):F2} s  p90 {P90:F2} s  p99 {At(0.99):F2} s;  {RequestsPerSecond:F2} req/s served, {calls.Count(c => c.Dropped)} dropped, " +
            $"{calls.Sum(c => c.CompletionTokens) / seconds:F1} completion tok/s over {seconds:F0} s;  " +
            $"system prompt cached for {calls.Count(c => c.CachedTokens >= MinPrefixTokens / 2) * 100.0 / calls.Length:F0}% of requests, " +
            $"{calls.Sum(c => c.CachedTokens) * 100.0 / Math.Max(1, calls.Sum(c => c.PromptTokens)):F0}% of prompt tokens cached;  " +
            $"mean TTFT {Mean(c => c.FirstToken):F2} s = prefill ~{Mean(c => (c.PromptTokens - c.CachedTokens) / prefillRate):F2} s " +
            $"({Mean(c => c.PromptTokens - c.CachedTokens):F0} uncached tokens) + queue ~{Mean(c => c.FirstToken - (c.PromptTokens - c.CachedTokens) / prefillRate):F2} s; " +
            $"decode {Mean(c => c.Total - c.FirstToken):F2} s");

        double Mean(Func<Call, double> value) => _served.Length == 0 ? double.NaN : _served.Average(value);
    }
}
