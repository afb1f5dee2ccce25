using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>One llama.cpp sequence of a <see cref="DecodeContext"/>: its id, its next position and whether its tokens
/// wait in the step's batch or were just decoded. Held by a running request, then perhaps by the prefix cache;
/// disposing it frees its cells and its id.</summary>
public sealed class KvSequence(DecodeContext owner, LLamaSeqId id) : IDisposable
{
    bool _disposed;

    public LLamaSeqId Id { get; } = id;

    /// <summary>Positions used: decoded and queued tokens (the next token goes at this position).</summary>
    public int TokenCount { get; internal set; }

    /// <summary>Tokens of it wait in the batch: it cannot be sampled, and its id cannot be reused yet.</summary>
    public bool Queued { get; internal set; }

    /// <summary>The last decode computed its logits and it was not sampled since.</summary>
    public bool Decoded { get; internal set; }

    internal int LogitsIndex { get; set; }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            owner.Free(this);
        }
    }
}
