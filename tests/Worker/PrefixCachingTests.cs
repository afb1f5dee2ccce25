using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.Support;
using Xunit;
using Metrics = DeepDeploy.WorkerProtocol.WorkerProtocol.Metrics;

namespace DeepDeploy.Tests.Worker;

/// <summary>Automatic prefix caching in real worker processes on the tiny model: the same greedy tokens with and
/// without the cache, cached_tokens in both answer shapes, the budget under churn, and cells freed on cancel.</summary>
public sealed class PrefixCachingTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    static readonly string SystemPrompt = string.Concat(Enumerable.Repeat("You are a careful assistant of the world. ", 6));

    static JsonObject Chat(string question, int maxTokens = 24, bool stream = false)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = SystemPrompt },
                new JsonObject { ["role"] = "user", ["content"] = question }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
        };
        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return body;
    }

    static int Cached(JsonElement usage) => usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();

    [Fact]
    public async Task Cached_and_uncached_give_the_same_greedy_tokens_and_report_cached_tokens()
    {
        // Small prefill chunks on the uncached worker: the prompt is also decoded in other batch shapes.
        await using var uncached = await WorkerProcess.StartAsync(model.ModelPath, ["--prefix-cache-tokens", "0", "--prefill-chunk", "16"]);
        await using var cached = await WorkerProcess.StartAsync(model.ModelPath, ["--prefix-cache-tokens", "2048"]);
        await Task.WhenAll(uncached.WaitHealthyAsync(), cached.WaitHealthyAsync());

        var (s0, warm) = await WorkerApi.PostAsync(cached.Http, "/v1/chat/completions", Chat("what is the world?"));
        Assert.True(s0 == 200, warm.ToString());
        Assert.Equal(0, Cached(warm.GetProperty("usage")));

        foreach (var question in new[] { "hello there", "tell me the", "what is the world?" })
        {
            var (s1, withCache) = await WorkerApi.PostAsync(cached.Http, "/v1/chat/completions", Chat(question));
            var (s2, without) = await WorkerApi.PostAsync(uncached.Http, "/v1/chat/completions", Chat(question));
            Assert.True(s1 == 200 && s2 == 200, $"{withCache} {without}");
            Assert.Equal(WorkerApi.ChatText(without), WorkerApi.ChatText(withCache));

            var usage = withCache.GetProperty("usage");
            var prompt = usage.GetProperty("prompt_tokens").GetInt32();
            Assert.InRange(Cached(usage), SystemPrompt.Length / 2, prompt - 1); // at least the system prompt, never all
            Assert.Equal(0, Cached(without.GetProperty("usage")));
            Assert.Equal(prompt, without.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }

        // The streaming answer's final usage chunk carries the same field.
        var events = await WorkerApi.StreamAsync(cached.Http, "/v1/chat/completions", Chat("hello there", stream: true));
        Assert.Equal("[DONE]", events[^1]);
        Assert.True(Cached(JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage")) > 0, events[^2]);

        Assert.Equal(4, await cached.MetricAsync(Metrics.PrefixCacheHits));
        Assert.Equal(1, await cached.MetricAsync(Metrics.PrefixCacheMisses));
        Assert.True(await cached.MetricAsync(Metrics.PrefixCacheHitTokens) >= 4 * (SystemPrompt.Length / 2));
        Assert.Equal(0, await uncached.MetricAsync(Metrics.PrefixCacheHits));
    }

    [Fact]
    public async Task The_cache_stays_within_its_budget_under_churn()
    {
        const int budget = 300;
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath,
            ["--prefix-cache-tokens", budget.ToString(), "--max-batch-size", "4", "--max-queue", "16"]);
        await worker.WaitHealthyAsync();

        var seen = new List<double>();
        using var done = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                seen.Add(await worker.MetricAsync(Metrics.PrefixCacheTokens));
            }
        });
        var requests = Enumerable.Range(0, 20).Select(i => WorkerApi.PostAsync(worker.Http, "/v1/completions", new JsonObject
        {
            ["prompt"] = $"{i % 3} {SystemPrompt[..(40 + i * 7 % 120)]} request {i}",
            ["max_tokens"] = 20 + i % 5 * 10,
            ["temperature"] = 0,
        }));
        foreach (var (status, body) in await Task.WhenAll(requests))
        {
            Assert.True(status == 200, body.ToString());
        }

        await done.CancelAsync();
        await watch;
        seen.Add(await worker.MetricAsync(Metrics.PrefixCacheTokens));
        Assert.All(seen, tokens => Assert.InRange(tokens, 0, budget));
        Assert.True(seen[^1] > 0, "nothing was retained");
        Assert.True(await worker.MetricAsync(Metrics.PrefixCacheHits) > 0);
        Assert.Equal(budget, await worker.MetricAsync(Metrics.PrefixCacheBudgetTokens));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2048)]
    public async Task A_cancelled_sequence_frees_its_cells(int cacheTokens)
    {
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath, ["--prefix-cache-tokens", cacheTokens.ToString()]);
        await worker.WaitHealthyAsync();

        using var cancel = new CancellationTokenSource();
        var stream = WorkerApi.StreamAsync(worker.Http, "/v1/completions",
            new JsonObject { ["prompt"] = SystemPrompt, ["max_tokens"] = 900, ["stream"] = true }, cancel.Token);
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.SequenceTokens) > 100,
            TimeSpan.FromSeconds(20), "the sequence holding cells");

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream);
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.RequestsRunning) == 0
                && await worker.MetricAsync(Metrics.SequenceTokens) == 0,
            TimeSpan.FromSeconds(20), "the cancelled sequence's cells freed");
        Assert.InRange(await worker.MetricAsync(Metrics.PrefixCacheTokens), 0, cacheTokens);

        // The worker goes on serving (and, with the cache on, reuses what the cancelled request decoded).
        var (status, body) = await WorkerApi.PostAsync(worker.Http, "/v1/completions",
            new JsonObject { ["prompt"] = SystemPrompt + " more", ["max_tokens"] = 5 });
        Assert.True(status == 200, body.ToString());
        Assert.Equal(cacheTokens > 0, Cached(body.GetProperty("usage")) > 0);
    }
}
