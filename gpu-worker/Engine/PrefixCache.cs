using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Automatic prefix caching: an index of the token prefixes whose KV cells the engine holds, so that a new request
/// copies the longest one (llama.cpp's sequence copy shares the cells) and prefills only the rest. Running
/// sequences are indexed as their tokens are decoded; when a request ends its cells are retained here instead of
/// freed, within a token budget, least recently used evicted first. The index is block-granular (chained hashes of
/// <see cref="BlockSize"/> tokens, as vLLM's); a hit is verified token by token, then extended inside the entry.
/// The budget counts the cells each retained entry holds alone (<see cref="PrefixEntry{T}.Charge"/>): a request that
/// copied a cached prefix (<see cref="Share"/>) is charged only for its own tokens, so twenty questions on one system
/// prompt cost the prompt once; when the entry a prefix was copied from goes, its cells stay held by the copies and
/// are charged to them (to each of them: the cells really held stay at or below the budget). Only the engine's loop
/// touches it.
/// </summary>
public sealed class PrefixCache<T>(int budgetTokens, int maxEntries, Action<T> free)
{
    public const int BlockSize = 16;

    const ulong Prime = 0x100000001B3UL;
    const ulong Offset = 0xCBF29CE484222325UL;

    readonly Dictionary<ulong, List<PrefixEntry<T>>> _index = [];
    readonly List<PrefixEntry<T>> _retained = [];
    long _clock;

    public int BudgetTokens => budgetTokens;

    public bool Enabled => budgetTokens > 0;

    /// <summary>Tokens held by retained entries (what the budget bounds).</summary>
    public int RetainedTokens { get; private set; }

    public int RetainedEntries => _retained.Count;

    /// <summary>Starts indexing a running sequence's cells.</summary>
    public PrefixEntry<T> AddLive(T holder) => new(holder) { LastUsed = ++_clock };

    /// <summary>Records tokens whose cells were just decoded for <paramref name="entry"/>; indexes each block it completes.</summary>
    public void Append(PrefixEntry<T> entry, ReadOnlySpan<LLamaToken> decoded)
    {
        if (!Enabled || entry.Dropped)
        {
            return;
        }

        foreach (var token in decoded)
        {
            var h = entry.Tokens.Count % BlockSize == 0 ? Chain(entry) : entry.ChainHash;
            entry.ChainHash = Mix(h, token);
            entry.Tokens.Add(token);
            if (entry.Tokens.Count % BlockSize == 0)
            {
                entry.BlockHashes.Add(entry.ChainHash);
                if (!_index.TryGetValue(entry.ChainHash, out var holders))
                {
                    _index[entry.ChainHash] = holders = [];
                }

                holders.Add(entry);
            }
        }
    }

    /// <summary>The entry holding the longest prefix of <paramref name="prompt"/> and its length, at most
    /// prompt length - 1 (the last prompt token must be decoded to get logits); (null, 0) when nothing matches.</summary>
    public (PrefixEntry<T>? Source, int Length) Match(ReadOnlySpan<LLamaToken> prompt)
    {
        var limit = prompt.Length - 1;
        if (!Enabled || limit < BlockSize)
        {
            return (null, 0);
        }

        PrefixEntry<T>? best = null;
        var blocks = 0;
        var h = Offset;
        for (var b = 0; (b + 1) * BlockSize <= limit; b++)
        {
            foreach (var t in prompt.Slice(b * BlockSize, BlockSize))
            {
                h = Mix(h, t);
            }

            if (!_index.TryGetValue(h, out var holders) || holders.Count == 0)
            {
                break;
            }

            best = holders.MaxBy(e => e.LastUsed);
            blocks = b + 1;
        }

        if (best is null)
        {
            return (null, 0);
        }

        // Hashes only point the way: the tokens decide (a collision gives a miss, never wrong cells).
        var length = 0;
        var max = Math.Min(limit, best.Tokens.Count);
        while (length < max && best.Tokens[length] == prompt[length])
        {
            length++;
        }

        if (length < blocks * BlockSize)
        {
            return (null, 0);
        }

        best.LastUsed = ++_clock;
        return (best, length);
    }

    /// <summary>Records that <paramref name="entry"/>'s first <paramref name="length"/> cells were copied from
    /// <paramref name="source"/> (a <see cref="Match"/>), so they are not charged to it.</summary>
    public void Share(PrefixEntry<T> entry, PrefixEntry<T> source, int length)
    {
        if (!Enabled || source.Dropped || entry.Dropped || length <= 0)
        {
            return;
        }

        entry.Source = source;
        entry.Shared = length;
        (source.Dependents ??= []).Add(entry);
    }

    /// <summary>A request ended: its cells stay in the cache if they fit the budget (evicting LRU entries first).
    /// Returns false when they do not, or caching is off; the caller then frees them.</summary>
    public bool Retain(PrefixEntry<T> entry)
    {
        if (!Enabled || entry.Dropped || entry.Tokens.Count < BlockSize || entry.Charge > budgetTokens || maxEntries == 0)
        {
            Remove(entry);
            return false;
        }

        // An entry the new one wholly contains is redundant: the new one serves every prompt the old one did.
        foreach (var old in _retained.Where(o => o.Tokens.Count <= entry.Tokens.Count && StartsWith(entry, o)).ToList())
        {
            Evict(old);
        }

        while (_retained.Count > 0 && (RetainedTokens + entry.Charge > budgetTokens || _retained.Count >= maxEntries))
        {
            Evict(_retained.MinBy(e => e.LastUsed)!);
        }

        if (entry.Charge > budgetTokens)
        {
            Remove(entry); // its source went while making room and left it the shared cells
            return false;
        }

        entry.Retained = true;
        entry.LastUsed = ++_clock;
        _retained.Add(entry);
        RetainedTokens += entry.Charge;
        return true;
    }

    /// <summary>A running sequence's cells are freed without being retained; retained entries that shared them now
    /// hold them alone, and the least recently used go if that puts the cache over its budget.</summary>
    public void Remove(PrefixEntry<T> entry)
    {
        Drop(entry);
        while (RetainedTokens > budgetTokens && EvictOne())
        {
        }
    }

    /// <summary>Evicts the least recently used retained entry; false when none is left (KV cache pressure).</summary>
    public bool EvictOne()
    {
        if (_retained.Count == 0)
        {
            return false;
        }

        Evict(_retained.MinBy(e => e.LastUsed)!);
        return true;
    }

    /// <summary>Forgets everything; retained cells are freed (the engine's context is being replaced).</summary>
    public void Clear()
    {
        foreach (var e in _retained.ToList())
        {
            Evict(e);
        }

        _index.Clear();
    }

    void Evict(PrefixEntry<T> entry)
    {
        _retained.Remove(entry);
        RetainedTokens -= entry.Charge;
        entry.Retained = false;
        Drop(entry);
        free(entry.Holder);
    }

    /// <summary>Forgets <paramref name="entry"/>; the entries that shared its cells take them over (their source
    /// becomes its source, up to what that one shares with it).</summary>
    void Drop(PrefixEntry<T> entry)
    {
        entry.Dropped = true;
        Unindex(entry);
        var source = entry.Source;
        source?.Dependents?.Remove(entry);
        foreach (var dependent in entry.Dependents ?? [])
        {
            var shared = source is null ? 0 : Math.Min(dependent.Shared, entry.Shared);
            if (dependent.Retained)
            {
                RetainedTokens += dependent.Shared - shared;
            }

            dependent.Shared = shared;
            dependent.Source = shared > 0 ? source : null;
            if (shared > 0)
            {
                source!.Dependents!.Add(dependent);
            }
        }

        (entry.Source, entry.Dependents) = (null, null);
    }

    void Unindex(PrefixEntry<T> entry)
    {
        foreach (var h in entry.BlockHashes)
        {
            if (_index.TryGetValue(h, out var holders))
            {
                holders.Remove(entry);
                if (holders.Count == 0)
                {
                    _index.Remove(h);
                }
            }
        }

        entry.BlockHashes.Clear();
    }

    static bool StartsWith(PrefixEntry<T> entry, PrefixEntry<T> prefix)
    {
        for (var i = 0; i < prefix.Tokens.Count; i++)
        {
            if (entry.Tokens[i] != prefix.Tokens[i])
            {
                return false;
            }
        }

        return true;
    }

    static ulong Chain(PrefixEntry<T> entry) => entry.BlockHashes.Count == 0 ? Offset : entry.BlockHashes[^1];

    static ulong Mix(ulong h, LLamaToken token) => (h ^ (uint)(int)token) * Prime;
}
