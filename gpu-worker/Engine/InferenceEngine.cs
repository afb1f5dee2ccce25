using System.Text;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Continuous batching over one <see cref="BatchedExecutor"/>: each step runs Infer() for all live sequences at once
/// and samples each of them. The <see cref="BatchingLoop{TSequence}"/> owns the executor; nothing else touches it.
/// </summary>
public sealed class InferenceEngine(LLamaWeights weights, ModelParams contextParams, int maxBatchSize,
    int tokensPerSequence, WorkerMetrics metrics, ILogger<InferenceEngine> log)
    : BatchingLoop<LlamaSequence>(maxBatchSize, tokensPerSequence, metrics, log)
{
    BatchedExecutor _executor = new(weights, contextParams);
    int _noKvSlotStreak;

    /// <summary>Tokenizes with BOS. <paramref name="special"/> parses control-token text (for chat templates).</summary>
    public override LLamaToken[] Tokenize(string text, bool special) => weights.Tokenize(text, true, special, Encoding.UTF8);

    protected override LlamaSequence? Begin(GenerationRequest request)
    {
        Conversation? conversation = null;
        ISamplingPipeline? pipeline = null;
        try
        {
            conversation = _executor.Create();
            pipeline = CreatePipeline(request.Sampling);
            conversation.Prompt(request.PromptTokens);
            return new LlamaSequence(request, conversation, pipeline, new StreamingTokenDecoder(Encoding.UTF8, weights));
        }
        catch (Exception ex)
        {
            Log.LogError(ex, "Could not start a sequence");
            conversation?.Dispose();
            pipeline?.Dispose();
            request.Complete(new GenerationFailed($"could not start generation: {ex.Message}"));
            return null;
        }
    }

    /// <summary>An answered or abandoned sequence is disposed only once none of its tokens wait in the executor's
    /// batch, so that its sequence id cannot be reused too early.</summary>
    protected override bool CanRelease(LlamaSequence sequence) => !sequence.Conversation.RequiresInference;

    protected override async ValueTask<int> StepAsync(List<LlamaSequence> batch, CancellationToken stop)
    {
        if (_executor.BatchedTokenCount == 0)
        {
            // Cannot happen if the bookkeeping is right; recover rather than spin.
            Log.LogError("Engine has {Count} live sequences but nothing to decode; resetting", batch.Count);
            FailAndReset(batch, "internal engine error");
            return 0;
        }

        var result = await _executor.Infer(stop);
        if (result == DecodeResult.NoKvSlot)
        {
            _noKvSlotStreak++;
            if (!RetireLargestForKvSpace(batch) || _noKvSlotStreak > MaxBatchSize + 1)
            {
                Log.LogError("KV cache exhausted and no sequence can be freed; failing all requests");
                FailAndReset(batch, "KV cache exhausted");
            }

            return 0;
        }

        _noKvSlotStreak = 0;
        if (result != DecodeResult.Ok)
        {
            Log.LogError("Decode failed with {Result}; failing {Count} requests", result, batch.Count);
            FailAndReset(batch, $"decode failed: {result}");
            return 0;
        }

        return SampleAll(batch);
    }

    static ISamplingPipeline CreatePipeline(SamplingOptions s)
    {
        if (s.Temperature <= 0f)
        {
            return new GreedySamplingPipeline();
        }

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

    int SampleAll(List<LlamaSequence> batch)
    {
        var vocab = weights.Vocab;
        var generated = 0;
        foreach (var s in batch)
        {
            if (!s.Live || !s.Conversation.RequiresSampling)
            {
                continue; // released after this step, or still queued
            }

            string? finish = null;
            try
            {
                var token = s.Conversation.Sample(s.Pipeline);
                if (token.IsEndOfGeneration(vocab))
                {
                    finish = "stop";
                }
                else
                {
                    generated++;
                    s.Decoder.Add(token);
                    if (s.Accept(s.Decoder.Read()))
                    {
                        finish = "stop";
                    }
                    else if (s.CompletionTokens >= s.Request.MaxTokens || s.Conversation.TokenCount + 1 >= TokensPerSequence)
                    {
                        finish = "length";
                    }
                    else
                    {
                        s.Conversation.Prompt(token);
                    }
                }
            }
            catch (Exception ex)
            {
                Log.LogError(ex, "Sampling failed");
                s.Fail($"sampling failed: {ex.Message}");
                continue;
            }

            if (finish is not null)
            {
                s.Finish(finish); // nothing queued: released right after this step
            }
        }

        return generated;
    }

    /// <summary>
    /// NoKvSlot: end the longest live sequence with finish_reason "length" and free its KV cells now.
    /// Its last token stays queued in the retried batch, so the conversation itself is released later.
    /// </summary>
    bool RetireLargestForKvSpace(List<LlamaSequence> batch)
    {
        LlamaSequence? victim = null;
        foreach (var s in batch)
        {
            if (!s.Answered && (victim is null || s.Conversation.TokenCount > victim.Conversation.TokenCount))
            {
                victim = s;
            }
        }

        if (victim is null)
        {
            return false;
        }

        Log.LogWarning("KV cache full; ending the longest sequence ({Tokens} tokens) early", victim.Conversation.TokenCount);
        _executor.Context.NativeHandle.MemorySequenceRemove(victim.Conversation.ConversationId, 0, -1);
        victim.Finish("length");
        return true;
    }

    void FailAndReset(List<LlamaSequence> batch, string message)
    {
        FailAll(batch, message);
        _executor.Dispose();
        _executor = new BatchedExecutor(weights, contextParams);
        _noKvSlotStreak = 0;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _executor.Dispose();
    }
}
