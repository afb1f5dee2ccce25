using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.Support;
using Xunit;
using Metrics = DeepDeploy.WorkerProtocol.WorkerProtocol.Metrics;

namespace DeepDeploy.Tests.Worker;

/// <summary>A request whose prefix a running sequence is still prefilling waits for it and copies it, instead of
/// computing the same prefix a second time beside it; real worker processes on the tiny model at
/// <c>--prefill-chunk 1</c>, so the first prompt's prefill lasts thousands of steps.</summary>
public sealed class InFlightPrefixTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    static readonly string LongPrompt = PrefillOrderTests.LongPrompt;

    static readonly string[] CachedArgs = ["--prefill-chunk", "1", "--max-batch-size", "4", "--context-size", "16384", "--prefix-cache-tokens", "8192"];

    static readonly string[] UncachedArgs = ["--max-batch-size", "4", "--context-size", "16384", "--prefix-cache-tokens", "0"];

    static JsonObject Completion(string prompt, int maxTokens, bool stream = false)
    {
        var body = new JsonObject { ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0 };
        if (stream)
        {
            body["stream"] = true;
        }

        return body;
    }

    static string Text(JsonElement body) => body.GetProperty("choices")[0].GetProperty("text").GetString()!;

    [Fact]
    public async Task A_request_arriving_while_its_prefix_is_prefilling_reuses_that_prefill()
    {
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath, CachedArgs);
        await using var uncached = await WorkerProcess.StartAsync(model.ModelPath, UncachedArgs);
        await Task.WhenAll(worker.WaitHealthyAsync(), uncached.WaitHealthyAsync());

        var first = WorkerApi.StreamAsync(worker.Http, "/v1/completions", Completion(LongPrompt + "first question", 1, stream: true));
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.SequenceTokens) > 0,
            TimeSpan.FromSeconds(60), "the first prompt prefilling");

        var second = LongPrompt + "second question";
        var (status, body) = await WorkerApi.PostAsync(worker.Http, "/v1/completions", Completion(second, 4));
        Assert.True(status == 200, body.ToString());
        Assert.Equal("[DONE]", (await first)[^1]);

        // Computed beside the first prefill it would have copied only what that one had decoded when it arrived.
        var usage = body.GetProperty("usage");
        var prompt = usage.GetProperty("prompt_tokens").GetInt32();
        var cached = usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        Assert.True(cached >= prompt - 40, $"{cached} of {prompt} prompt tokens reused");
        Assert.Equal(1, await worker.MetricAsync(Metrics.PrefixCacheMisses));

        var (uncachedStatus, reference) = await WorkerApi.PostAsync(uncached.Http, "/v1/completions", Completion(second, 4));
        Assert.True(uncachedStatus == 200, reference.ToString());
        Assert.Equal(Text(reference), Text(body));
    }

    [Fact]
    public async Task A_waiting_request_goes_on_when_the_prefill_it_waits_for_is_cancelled()
    {
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath, CachedArgs);
        await using var uncached = await WorkerProcess.StartAsync(model.ModelPath, UncachedArgs);
        await Task.WhenAll(worker.WaitHealthyAsync(), uncached.WaitHealthyAsync());

        using var cancel = new CancellationTokenSource();
        // Still generating when cancelled, however soon its prefill ends.
        var first = WorkerApi.StreamAsync(worker.Http, "/v1/completions", Completion(LongPrompt + "first question", 2000, stream: true), cancel.Token);
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.SequenceTokens) > 0,
            TimeSpan.FromSeconds(60), "the first prompt prefilling");

        var second = LongPrompt + "second question";
        var waiting = WorkerApi.PostAsync(worker.Http, "/v1/completions", Completion(second, 4));
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.RequestsRunning) == 2,
            TimeSpan.FromSeconds(30), "the second request admitted beside the first");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        var (status, body) = await waiting;
        Assert.True(status == 200, body.ToString());
        var (uncachedStatus, reference) = await WorkerApi.PostAsync(uncached.Http, "/v1/completions", Completion(second, 4));
        Assert.True(uncachedStatus == 200, reference.ToString());
        Assert.Equal(Text(reference), Text(body));
    }
}
