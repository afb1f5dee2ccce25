using System.Runtime.InteropServices;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Continuous batching over one <see cref="DecodeContext"/>: each step is ONE llama_decode of every live
/// sequence's next token plus up to <paramref name="prefillChunk"/> prompt tokens of admitted sequences (a long prompt
/// is prefilled over several steps, so it does not stall the running ones), then every sequence whose prompt is
/// done is sampled. A new request first copies the longest prefix it shares with a running or recently finished
/// sequence (<see cref="PrefixCache{T}"/>; llama.cpp's sequence copy shares the KV cells) and prefills only the rest.
/// The <see cref="BatchingLoop{TSequence}"/> owns the context and decodes on its own thread; nothing else touches it.
/// </summary>
public sealed class InferenceEngine(LLamaWeights weights, ModelParams contextParams, int maxBatchSize,
    int tokensPerSequence, int prefillChunk, int prefixCacheTokens, int prefixCacheEntries, WorkerMetrics metrics,
    ILogger<InferenceEngine> log)
    : BatchingLoop<LlamaSequence>(maxBatchSize, tokensPerSequence, metrics, log)
{
    DecodeContext _decoder = new(weights, contextParams);
    readonly PrefixCache<KvSequence> _cache = new(prefixCacheTokens, prefixCacheEntries, static kv => kv.Dispose());
    int _noKvSlotStreak;
    int _heldTokens;

    /// <summary>Tokenizes with BOS. <paramref name="special"/> parses control-token text (for chat templates).</summary>
    public override LLamaToken[] Tokenize(string text, bool special) => weights.Tokenize(text, true, special, Encoding.UTF8);

    protected override LlamaSequence? Begin(GenerationRequest request)
    {
        KvSequence? kv = null;
        ISamplingPipeline? pipeline = null;
        try
        {
            kv = _decoder.Create();
            pipeline = CreatePipeline(request.Sampling);
            var entry = _cache.AddLive(kv);
            return new LlamaSequence(request, kv, pipeline, new StreamingTokenDecoder(Encoding.UTF8, weights), entry);
        }
        catch (Exception ex)
        {
            Log.LogError(ex, "Could not start a sequence");
            kv?.Dispose();
            pipeline?.Dispose();
            request.Complete(new GenerationFailed($"could not start generation: {ex.Message}"));
            return null;
        }
    }

    /// <summary>Starts the sequences admitted since the last step: each copies the longest cached prefix, unless a running
    /// sequence is still prefilling a longer prefix of its prompt (two questions on one new system prompt arriving
    /// together); then it waits, costing no compute, and copies that prefix once decoded instead of computing it a
    /// second time beside it. The wait ends when that sequence has decoded the shared prefix (within a block) or ends.</summary>
    void StartAdmitted(List<LlamaSequence> batch)
    {
        foreach (var s in batch)
        {
            if (s.Started || !s.Live || (_cache.Enabled && PrefillsPrefixOf(s, batch)))
            {
                continue;
            }

            try
            {
                s.PromptFed = s.Request.CachedTokens = ReusePrefix(s.Kv, s.CacheEntry, s.Request.PromptTokens);
                s.Started = true;
            }
            catch (Exception ex)
            {
                Log.LogError(ex, "Could not start a sequence");
                s.Fail($"could not start generation: {ex.Message}");
            }
        }
    }

    /// <summary>Whether another started sequence of <paramref name="batch"/> has yet to decode at least a block of the
    /// prefix it shares with <paramref name="waiting"/>'s prompt (all but its last token, which must be decoded).</summary>
    static bool PrefillsPrefixOf(LlamaSequence waiting, List<LlamaSequence> batch)
    {
        var prompt = waiting.Request.PromptTokens.AsSpan(0, waiting.Request.PromptTokens.Length - 1);
        foreach (var s in batch)
        {
            if (s != waiting && s.Started && s.Live && !s.CacheEntry.Dropped
                && prompt.CommonPrefixLength(s.Request.PromptTokens) - s.CacheEntry.Tokens.Count >= PrefixCache<KvSequence>.BlockSize)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies the cells of the longest cached prefix into the new sequence; returns its length.</summary>
    int ReusePrefix(KvSequence kv, PrefixEntry<KvSequence> entry, LLamaToken[] prompt)
    {
        if (!_cache.Enabled)
        {
            return 0;
        }

        var (source, length) = _cache.Match(prompt);
        if (source is null)
        {
            Metrics.PrefixCacheMiss();
            return 0;
        }

        _decoder.CopyPrefix(source.Holder, kv, length);
        _cache.Append(entry, prompt.AsSpan(0, length));
        _cache.Share(entry, source, length);
        Metrics.PrefixCacheHit(length);
        return length;
    }

    /// <summary>An answered or abandoned sequence is disposed only once none of its tokens wait in the batch, so
    /// that its sequence id cannot be reused too early.</summary>
    protected override bool CanRelease(LlamaSequence sequence) => !sequence.Kv.Queued;

    /// <summary>A finished sequence's cells stay in the prefix cache when they fit its budget.</summary>
    protected override void Release(LlamaSequence sequence)
    {
        sequence.Pipeline.Dispose();
        _heldTokens = Math.Max(0, _heldTokens - sequence.Kv.TokenCount);
        Metrics.SetSequenceTokens(_heldTokens);
        if (sequence.Queued.Count > 0 || !_cache.Retain(sequence.CacheEntry))
        {
            _cache.Remove(sequence.CacheEntry);
            sequence.Kv.Dispose();
        }

        Metrics.SetPrefixCache(_cache.RetainedTokens, _cache.RetainedEntries);
    }

    protected override int Step(List<LlamaSequence> batch, CancellationToken stop)
    {
        FeedPrompts(batch);
        if (_decoder.QueuedTokens == 0)
        {
            if (!batch.Exists(static s => s.Live && s.Started))
            {
                // Every client went away since the batch was last released (requests waiting for a prefill that was
                // just cancelled included): the next step releases those and starts these.
                return 0;
            }

            // Cannot happen if the bookkeeping is right; recover rather than spin.
            Log.LogError("Engine has {Count} live sequences but nothing to decode; resetting", batch.Count);
            FailAndReset(batch, "internal engine error");
            return 0;
        }

        var result = _decoder.Decode();
        if (result == DecodeResult.NoKvSlot)
        {
            // Cached entries go first (bounded by their count); only ending running sequences counts as a streak.
            if (_cache.EvictOne())
            {
                Metrics.SetPrefixCache(_cache.RetainedTokens, _cache.RetainedEntries);
                return 0;
            }

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

        _heldTokens = 0;
        foreach (var s in batch)
        {
            _cache.Append(s.CacheEntry, CollectionsMarshal.AsSpan(s.Queued));
            s.Queued.Clear();
            _heldTokens += s.Kv.TokenCount;
        }

        Metrics.SetSequenceTokens(_heldTokens);
        return SampleAll(batch);
    }

    /// <summary>Adds prompt chunks to this step's batch up to the prefill budget, the sequence with the fewest prompt
    /// tokens left first: a request whose prefix was cached (a few tokens left) gets its first token in the next step
    /// instead of waiting behind a cold prompt's whole prefill, which loses at most one chunk's worth per such request.
    /// The running sequences' next tokens are already queued (by the previous step's sampling).</summary>
    void FeedPrompts(List<LlamaSequence> batch)
    {
        // A batch kept from a failed decode already holds its running tokens and perhaps prompt chunks.
        StartAdmitted(batch);
        var budget = Math.Min(prefillChunk, _decoder.Capacity);
        while (budget > 0 && ShortestPrefill(batch) is { } s)
        {
            var chunk = s.Request.PromptTokens.AsSpan(s.PromptFed, Math.Min(budget, s.Request.PromptTokens.Length - s.PromptFed));
            _decoder.Add(s.Kv, chunk);
            s.Queued.AddRange(chunk);
            s.PromptFed += chunk.Length;
            budget -= chunk.Length;
        }
    }

    /// <summary>The live sequence with the fewest prompt tokens left to prefill and none queued yet in this step.</summary>
    static LlamaSequence? ShortestPrefill(List<LlamaSequence> batch)
    {
        LlamaSequence? shortest = null;
        foreach (var s in batch)
        {
            if (s.Live && s.Started && s.Prefilling && !s.Kv.Queued
                && (shortest is null || s.Request.PromptTokens.Length - s.PromptFed < shortest.Request.PromptTokens.Length - shortest.PromptFed))
            {
                shortest = s;
            }
        }

        return shortest;
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
            if (!s.Live || s.Prefilling || !s.Kv.Decoded)
            {
                continue; // released after this step, still prefilling, or still queued
            }

            string? finish = null;
            try
            {
                var token = _decoder.Sample(s.Kv, s.Pipeline);
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
                    else if (s.CompletionTokens >= s.Request.MaxTokens || s.Kv.TokenCount + 1 >= TokensPerSequence)
                    {
                        finish = "length";
                    }
                    else
                    {
                        _decoder.Add(s.Kv, [token]);
                        s.Queued.Add(token);
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
            if (!s.Answered && (victim is null || s.Kv.TokenCount > victim.Kv.TokenCount))
            {
                victim = s;
            }
        }

        if (victim is null)
        {
            return false;
        }

        Log.LogWarning("KV cache full; ending the longest sequence ({Tokens} tokens) early", victim.Kv.TokenCount);
        _decoder.RemoveCells(victim.Kv);
        _cache.Remove(victim.CacheEntry); // its cells are gone: never a source, never retained
        victim.Finish("length");
        return true;
    }

    void FailAndReset(List<LlamaSequence> batch, string message)
    {
        FailAll(batch, message);
        _cache.Clear();
        _heldTokens = 0;
        Metrics.SetSequenceTokens(0);
        Metrics.SetPrefixCache(0, 0);
        _decoder.Dispose();
        _decoder = new DecodeContext(weights, contextParams);
        _noKvSlotStreak = 0;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _cache.Clear();
        _decoder.Dispose();
    }
}
