using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// One sequence's tokens whose KV cells exist, as the <see cref="PrefixCache{T}"/> knows it: either live (a running
/// request owns the cells; not charged to the cache) or retained (the cache owns them after the request ended;
/// charged and evicted LRU). <typeparamref name="T"/> is what holds the cells (the engine's conversation).
/// </summary>
public sealed class PrefixEntry<T>(T holder)
{
    public T Holder { get; } = holder;

    /// <summary>Tokens whose KV cells are computed, in position order.</summary>
    public List<LLamaToken> Tokens { get; } = [];

    /// <summary>The entry whose cells this one's first <see cref="Shared"/> tokens use (llama.cpp's sequence copy
    /// shares them), or null; becomes that entry's own source when it goes.</summary>
    internal PrefixEntry<T>? Source { get; set; }

    internal int Shared { get; set; }

    /// <summary>Entries that share this one's cells (their <see cref="Source"/> is this one).</summary>
    internal List<PrefixEntry<T>>? Dependents { get; set; }

    /// <summary>Cells only this entry holds: what retaining it costs the cache.</summary>
    public int Charge => Tokens.Count - Shared;

    /// <summary>Chained hash of each full block of <see cref="Tokens"/>, the keys under which it is indexed.</summary>
    public List<ulong> BlockHashes { get; } = [];

    public bool Retained { get; internal set; }

    /// <summary>Its cells were freed or are no longer trusted: not indexed again, not retained.</summary>
    public bool Dropped { get; internal set; }

    /// <summary>Bumped on every hit and on retaining; the smallest retained one is evicted first.</summary>
    public long LastUsed { get; internal set; }

    /// <summary>Chain state of the tokens after the last full block, folded in once the block is full.</summary>
    internal ulong ChainHash { get; set; }
}
