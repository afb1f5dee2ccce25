using System.Diagnostics.Metrics;
using DeepDeploy.GpuWorker.Engine;
using DeepDeploy.Tests.Support;
using LLama.Native;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Worker;

/// <summary>The shared batching loop, driven in-process through the fake engine on a fake clock: the token rate,
/// admission up to max_batch_size, stop strings and cancellation, without a worker process.</summary>
[Trait("Category", "Unit")]
public sealed class FakeEngineTests : IDisposable
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    readonly FakeTimeProvider _time = new();
    readonly WorkerMetrics _metrics;

    public FakeEngineTests() => _metrics = new WorkerMetrics(_services.GetRequiredService<IMeterFactory>());

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Each_sequence_gets_one_token_per_step_at_the_fake_rate()
    {
        await using var engine = Engine(maxBatchSize: 2, tokensPerSecond: 10); // a step every 100 ms
        var request = Request(maxTokens: 3);
        Assert.True(engine.TryEnqueue(request));
        engine.Start();

        Assert.IsType<TextDelta>(await NextAsync(request));
        Assert.False(request.Events.TryRead(out _)); // the clock stands still, so the next step cannot come

        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.IsType<TextDelta>(await NextAsync(request));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.IsType<TextDelta>(await NextAsync(request));
        Assert.Equal(new GenerationFinished("length", 1, 3), await NextAsync(request));
    }

    [Fact]
    public async Task At_most_max_batch_size_run_and_the_rest_wait_for_a_slot()
    {
        await using var engine = Engine(maxBatchSize: 2, tokensPerSecond: 10);
        var requests = Enumerable.Range(0, 3).Select(_ => Request(maxTokens: 2)).ToList();
        Assert.All(requests, r => Assert.True(engine.TryEnqueue(r)));
        engine.Start();

        await NextAsync(requests[0]);
        await NextAsync(requests[1]);
        Assert.Equal(2, _metrics.Running);
        Assert.Equal(1, _metrics.Waiting);
        Assert.False(requests[2].Events.TryRead(out _));

        _time.Advance(TimeSpan.FromMilliseconds(100)); // the first two finish; the third is admitted and starts at once
        Assert.Equal(new GenerationFinished("length", 1, 2), (await CollectAsync(requests[0]))[^1]);
        Assert.IsType<TextDelta>(await NextAsync(requests[2]));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(new GenerationFinished("length", 1, 2), (await CollectAsync(requests[2]))[^1]);

        await Eventually.TrueAsync(() => _metrics.Running == 0 && _metrics.Waiting == 0, Timeout, "the engine idle");
        Assert.Equal(2, _metrics.RunningPeak);
        Assert.Equal(6, _metrics.GeneratedTokens);
        Assert.Equal(3, _metrics.PromptTokens);
    }

    [Fact]
    public async Task A_stop_string_cuts_the_text_and_finishes_with_stop()
    {
        await using var engine = Engine(maxBatchSize: 1, tokensPerSecond: 0);
        var request = Request(maxTokens: 50, stop: ["sit"]);
        engine.TryEnqueue(request);
        engine.Start();

        var events = await CollectAsync(request);
        Assert.Equal(" ipsum dolor ", string.Concat(events.OfType<TextDelta>().Select(d => d.Text)));
        Assert.Equal(new GenerationFinished("stop", 1, 3), events[^1]);
    }

    [Fact]
    public async Task Held_text_comes_in_one_delta_with_the_answer()
    {
        await using var engine = Engine(maxBatchSize: 1, tokensPerSecond: 0);
        var request = new GenerationRequest(new LLamaToken[1], 3, new SamplingOptions(0, 1, 0), [], default) { HoldText = true };
        engine.TryEnqueue(request);
        engine.Start();

        Assert.Equal([new TextDelta(" ipsum dolor sit"), new GenerationFinished("length", 1, 3)], await CollectAsync(request));
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_batch_without_an_answer()
    {
        await using var engine = Engine(maxBatchSize: 1, tokensPerSecond: 10);
        using var client = new CancellationTokenSource();
        var request = Request(maxTokens: 100, cancellation: client.Token);
        engine.TryEnqueue(request);
        engine.Start();

        await NextAsync(request);
        await client.CancelAsync();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var rest = await CollectAsync(request);
        Assert.DoesNotContain(rest, e => e is GenerationFinished or GenerationFailed);
        await Eventually.TrueAsync(() => _metrics.Running == 0, Timeout, "the sequence released");
    }

    FakeEngine Engine(int maxBatchSize, double tokensPerSecond) =>
        new(maxBatchSize, tokensPerSecond, tokensPerSequence: 1024, _metrics, _time, NullLogger<FakeEngine>.Instance);

    static GenerationRequest Request(int maxTokens, IReadOnlyList<string>? stop = null, CancellationToken cancellation = default) =>
        new(new LLamaToken[1], maxTokens, new SamplingOptions(0, 1, 0), stop ?? [], cancellation);

    static async Task<GenerationEvent> NextAsync(GenerationRequest request) =>
        await request.Events.ReadAsync().AsTask().WaitAsync(Timeout);

    static Task<List<GenerationEvent>> CollectAsync(GenerationRequest request) =>
        request.Events.ReadAllAsync().ToListAsync().AsTask().WaitAsync(Timeout);
}
