using System.Text;
using System.Threading.Channels;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Continuous batching over one <see cref="BatchedExecutor"/>. A single background loop owns the executor:
/// it admits queued requests (FIFO) while fewer than max_batch_size sequences are live, runs Infer() for all
/// live sequences at once, samples each of them, streams the decoded text back and retires finished,
/// cancelled or failed sequences. Nothing else touches the executor.
/// </summary>
public sealed class InferenceEngine : IGenerationEngine
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _contextParams;
    private readonly int _maxBatchSize;
    private readonly WorkerMetrics _metrics;
    private readonly ILogger _log;
    private readonly Channel<GenerationRequest> _incoming =
        Channel.CreateUnbounded<GenerationRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private BatchedExecutor _executor;
    private Task? _loop;

    public InferenceEngine(LLamaWeights weights, ModelParams contextParams, int maxBatchSize,
        int tokensPerSequence, WorkerMetrics metrics, ILogger log)
    {
        _weights = weights;
        _contextParams = contextParams;
        _maxBatchSize = maxBatchSize;
        TokensPerSequence = tokensPerSequence;
        _metrics = metrics;
        _log = log;
        _executor = new BatchedExecutor(weights, contextParams);
    }

    /// <summary>Prompt plus completion tokens one sequence may hold.</summary>
    public int TokensPerSequence { get; }

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Tokenizes with BOS. <paramref name="special"/> parses control-token text (for chat templates).</summary>
    public LLamaToken[] Tokenize(string text, bool special) => _weights.Tokenize(text, true, special, Encoding.UTF8);

    /// <summary>Queues a request; false once the engine is shutting down.</summary>
    public bool TryEnqueue(GenerationRequest request)
    {
        if (_stop.IsCancellationRequested || !_incoming.Writer.TryWrite(request))
            return false;
        _metrics.WaitingAdded();
        return true;
    }

    /// <summary>Completes when no request is running or waiting, or when the timeout elapses.</summary>
    public Task<bool> WaitIdleAsync(TimeSpan timeout) => _metrics.WaitIdleAsync(timeout);

    private async Task RunAsync(CancellationToken stop)
    {
        var active = new List<ActiveSequence>();
        var noKvSlotStreak = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (active.Count == 0)
                {
                    _metrics.SetRunning(0);
                    if (!await _incoming.Reader.WaitToReadAsync(stop))
                        break;
                }

                Admit(active);
                ReapCancelled(active);
                _metrics.SetRunning(active.Count(a => !a.Retired));
                if (active.Count == 0)
                    continue;

                if (_executor.BatchedTokenCount == 0)
                {
                    // Cannot happen if the bookkeeping below is right; recover rather than spin.
                    _log.LogError("Engine has {Count} live sequences but nothing to decode; resetting", active.Count);
                    FailAll(active, "internal engine error");
                    ResetExecutor();
                    continue;
                }

                var result = await _executor.Infer(stop);
                if (result == DecodeResult.NoKvSlot)
                {
                    noKvSlotStreak++;
                    if (!RetireLargestForKvSpace(active) || noKvSlotStreak > _maxBatchSize + 1)
                    {
                        _log.LogError("KV cache exhausted and no sequence can be freed; failing all requests");
                        FailAll(active, "KV cache exhausted");
                        ResetExecutor();
                        noKvSlotStreak = 0;
                    }
                    continue;
                }
                noKvSlotStreak = 0;
                if (result != DecodeResult.Ok)
                {
                    _log.LogError("Decode failed with {Result}; failing {Count} requests", result, active.Count);
                    FailAll(active, $"decode failed: {result}");
                    ResetExecutor();
                    continue;
                }

                SampleAll(active);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _log.LogCritical(ex, "Inference loop crashed");
        }
        finally
        {
            FailAll(active, "the worker is shutting down");
            _incoming.Writer.TryComplete();
            while (_incoming.Reader.TryRead(out var pending))
            {
                _metrics.WaitingRemoved();
                pending.Complete(new GenerationFailed("the worker is shutting down"));
            }
            _metrics.SetRunning(0);
        }
    }

    private void Admit(List<ActiveSequence> active)
    {
        // Retired sequences still hold a sequence id until their queued token is decoded, so they count.
        while (active.Count < _maxBatchSize && _incoming.Reader.TryRead(out var request))
        {
            _metrics.WaitingRemoved();
            if (request.Cancellation.IsCancellationRequested)
            {
                request.Complete();
                continue;
            }

            Conversation? conversation = null;
            ISamplingPipeline? pipeline = null;
            try
            {
                conversation = _executor.Create();
                pipeline = CreatePipeline(request.Sampling);
                conversation.Prompt(request.PromptTokens);
                active.Add(new ActiveSequence(request, conversation, pipeline,
                    new StreamingTokenDecoder(Encoding.UTF8, _weights)));
                _metrics.AddPromptTokens(request.PromptTokens.Length);
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "Could not start a sequence");
                conversation?.Dispose();
                pipeline?.Dispose();
                request.Complete(new GenerationFailed($"could not start generation: {ex.Message}"));
            }
        }
    }

    private static ISamplingPipeline CreatePipeline(SamplingOptions s)
    {
        if (s.Temperature <= 0f)
            return new GreedySamplingPipeline();
        return new DefaultSamplingPipeline
        {
            Temperature = s.Temperature,
            TopP = s.TopP,
            TopK = 0,
            MinP = 0f,
            TypicalP = 1f,
            RepeatPenalty = 1f,
            FrequencyPenalty = 0f,
            PresencePenalty = 0f,
            Seed = s.Seed,
        };
    }

    /// <summary>Frees sequences of clients that went away, once none of their tokens wait in the batch.</summary>
    private static void ReapCancelled(List<ActiveSequence> active)
    {
        for (var i = active.Count - 1; i >= 0; i--)
        {
            var a = active[i];
            if (a.Conversation.RequiresInference)
                continue;
            if (a.Retired || a.Request.Cancellation.IsCancellationRequested)
            {
                a.Request.Complete();
                a.Dispose();
                active.RemoveAt(i);
            }
        }
    }

    private void SampleAll(List<ActiveSequence> active)
    {
        var vocab = _weights.Vocab;
        var generated = 0;
        for (var i = 0; i < active.Count; i++)
        {
            var a = active[i];
            if (a.Retired || !a.Conversation.RequiresSampling)
                continue; // retired ones are reaped on the next pass; others are still queued
            if (a.Request.Cancellation.IsCancellationRequested)
                continue; // reaped on the next pass

            string? finish = null;
            try
            {
                var token = a.Conversation.Sample(a.Pipeline);
                if (token.IsEndOfGeneration(vocab))
                {
                    finish = "stop";
                }
                else
                {
                    a.CompletionTokens++;
                    generated++;
                    a.Decoder.Add(token);
                    var delta = a.Stops.Append(a.Decoder.Read());
                    if (delta.Length > 0)
                        a.Request.Emit(new TextDelta(delta));

                    if (a.Stops.Stopped)
                        finish = "stop";
                    else if (a.CompletionTokens >= a.Request.MaxTokens || a.Conversation.TokenCount + 1 >= TokensPerSequence)
                        finish = "length";
                    else
                        a.Conversation.Prompt(token);
                }
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "Sampling failed");
                a.Request.Complete(new GenerationFailed($"sampling failed: {ex.Message}"));
                a.Retired = true;
                continue;
            }

            if (finish is not null)
            {
                var rest = a.Stops.Flush();
                if (rest.Length > 0)
                    a.Request.Emit(new TextDelta(rest));
                a.Request.Complete(new GenerationFinished(finish, a.Request.PromptTokens.Length, a.CompletionTokens));
                a.Retired = true; // nothing queued: disposed by ReapCancelled right away
            }
        }
        _metrics.AddGeneratedTokens(generated);
        ReapCancelled(active);
    }

    /// <summary>
    /// NoKvSlot: end the longest live sequence with finish_reason "length" and free its KV cells now.
    /// Its last token stays queued in the retried batch, so the conversation itself is disposed later.
    /// </summary>
    private bool RetireLargestForKvSpace(List<ActiveSequence> active)
    {
        ActiveSequence? victim = null;
        foreach (var a in active)
        {
            if (!a.Retired && (victim is null || a.Conversation.TokenCount > victim.Conversation.TokenCount))
                victim = a;
        }
        if (victim is null)
            return false;

        _log.LogWarning("KV cache full; ending the longest sequence ({Tokens} tokens) early", victim.Conversation.TokenCount);
        _executor.Context.NativeHandle.MemorySequenceRemove(victim.Conversation.ConversationId, 0, -1);
        var rest = victim.Stops.Flush();
        if (rest.Length > 0)
            victim.Request.Emit(new TextDelta(rest));
        victim.Request.Complete(new GenerationFinished("length", victim.Request.PromptTokens.Length, victim.CompletionTokens));
        victim.Retired = true;
        return true;
    }

    private static void FailAll(List<ActiveSequence> active, string message)
    {
        foreach (var a in active)
        {
            a.Request.Complete(new GenerationFailed(message));
            try
            {
                a.Dispose();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        active.Clear();
    }

    private void ResetExecutor()
    {
        _executor.Dispose();
        _executor = new BatchedExecutor(_weights, _contextParams);
    }

    public async ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _executor.Dispose();
        _stop.Dispose();
    }
}
