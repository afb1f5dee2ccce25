using LLama;
using LLama.Abstractions;
using LLama.Native;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// The <see cref="InferenceEngine"/>'s llama.cpp context, the one <see cref="LLamaBatch"/> each step decodes, and the
/// sequence ids it hands out (the lowest free one, below the context's n_seq_max). It replaces LLamaSharp's
/// <c>BatchedExecutor</c>, which decodes through <c>Task.Run</c>: <see cref="Decode"/> runs on the calling thread, the
/// batching loop's own. A failed decode keeps the batch for the next attempt (after cells were freed). Only the
/// engine's loop touches it.
/// </summary>
public sealed class DecodeContext(LLamaWeights weights, IContextParams contextParams) : IDisposable
{
    readonly LLamaBatch _batch = new();
    readonly bool[] _idsInUse = new bool[contextParams.SeqMax];
    readonly List<KvSequence> _queued = [];
    readonly List<KvSequence> _decoded = [];

    public LLamaContext Context { get; } = weights.CreateContext(contextParams);

    /// <summary>Tokens waiting for the next <see cref="Decode"/>.</summary>
    public int QueuedTokens => _batch.TokenCount;

    /// <summary>Room left in the batch (llama.cpp's n_batch).</summary>
    public int Capacity => (int)Context.BatchSize - _batch.TokenCount;

    public bool IsDisposed { get; private set; }

    /// <summary>A new, empty sequence on the lowest free sequence id.</summary>
    public KvSequence Create()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var id = Array.IndexOf(_idsInUse, false);
        if (id < 0)
        {
            throw new InvalidOperationException($"all {_idsInUse.Length} sequence ids are in use");
        }

        _idsInUse[id] = true;
        return new KvSequence(this, (LLamaSeqId)id);
    }

    /// <summary>Queues <paramref name="tokens"/> at the sequence's next positions; logits for the last one.</summary>
    public void Add(KvSequence sequence, ReadOnlySpan<LLamaToken> tokens)
    {
        if (tokens.IsEmpty)
        {
            return;
        }

        if (tokens.Length > Capacity)
        {
            throw new InvalidOperationException($"{tokens.Length} tokens do not fit the batch ({Capacity} left)");
        }

        for (var i = 0; i < tokens.Length; i++)
        {
            sequence.LogitsIndex = _batch.Add(tokens[i], sequence.TokenCount++, sequence.Id, i == tokens.Length - 1);
        }

        if (!sequence.Queued)
        {
            sequence.Queued = true;
            sequence.Decoded = false;
            _queued.Add(sequence);
        }
    }

    /// <summary>Shares the first <paramref name="length"/> cells of <paramref name="source"/> with the empty
    /// <paramref name="target"/> (llama.cpp's sequence copy: no data copied).</summary>
    public void CopyPrefix(KvSequence source, KvSequence target, int length)
    {
        Context.NativeHandle.MemorySequenceCopy(source.Id, target.Id, 0, length);
        target.TokenCount = length;
    }

    /// <summary>One llama_decode of the batch, on this thread. Ok: the queued sequences can be sampled (until the
    /// next decode) and the batch is emptied; otherwise the batch stays as it was, to be decoded again.</summary>
    public DecodeResult Decode()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var result = Context.Decode(_batch);
        if (result != DecodeResult.Ok)
        {
            return result;
        }

        foreach (var s in _decoded)
        {
            s.Decoded = false;
        }

        _decoded.Clear();
        foreach (var s in _queued)
        {
            (s.Queued, s.Decoded) = (false, true);
            _decoded.Add(s);
        }

        _queued.Clear();
        _batch.Clear();
        return result;
    }

    /// <summary>Samples the sequence's next token from the logits of the last decode.</summary>
    public LLamaToken Sample(KvSequence sequence, ISamplingPipeline pipeline)
    {
        if (!sequence.Decoded)
        {
            throw new InvalidOperationException("the sequence has no logits from the last decode");
        }

        sequence.Decoded = false;
        return pipeline.Sample(Context.NativeHandle, sequence.LogitsIndex);
    }

    /// <summary>Frees the sequence's cells; its id stays taken (tokens of it may still be queued).</summary>
    public void RemoveCells(KvSequence sequence) => Context.NativeHandle.MemorySequenceRemove(sequence.Id, 0, -1);

    /// <summary>Frees the sequence's cells and its id; nothing once the context is gone.</summary>
    internal void Free(KvSequence sequence)
    {
        if (IsDisposed)
        {
            return;
        }

        Context.NativeHandle.MemorySequenceRemove(sequence.Id, -1, -1);
        _idsInUse[(int)sequence.Id] = false;
    }

    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            Context.Dispose();
        }
    }
}
