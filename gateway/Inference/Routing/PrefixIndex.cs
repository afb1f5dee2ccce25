using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// One deployment's approximate memory of which instances recently served which prefix blocks
/// (<see cref="PrefixBlocks"/>): block hash → up to <see cref="HoldersPerBlock"/> instances, most recent first; at
/// most <see cref="Capacity"/> blocks, least recently routed evicted first (a request's blocks are ordered first to
/// last at the front, so a prefix's first blocks outlive its tails, as in the engine's cache). Arrays grow on demand
/// up to the capacity, then are reused: routing allocates nothing. Used under the lane's lock, so the decision's
/// cost there is kept to one hash lookup per block: <see cref="Record"/> reuses the nodes <see cref="Match"/> found,
/// and a prefix whose blocks already lie in order in the LRU list is moved to the front in one splice.
/// </summary>
public sealed class PrefixIndex(int capacity = PrefixIndex.DefaultCapacity)
{
    /// <summary>8,192 blocks of 128 bytes: 1 MiB of distinct prompt text, about 0.6 MiB of index when full.</summary>
    public const int DefaultCapacity = 8192;

    public const int HoldersPerBlock = 4;

    const int None = -1;

    readonly Dictionary<ulong, int> _nodes = [];
    Node[] _list = [];
    int _head = None;
    int _tail = None;

    // The last Match: up to HoldersPerBlock instances and how many leading blocks each holds, and the nodes of the
    // request's leading blocks it looked up (for Record of the same blocks).
    readonly InstanceSlot?[] _matched = new InstanceSlot?[HoldersPerBlock];
    readonly int[] _matchedBlocks = new int[HoldersPerBlock];
    readonly int[] _found = new int[PrefixBlocks.MaxBlocks];
    int _matchedCount;
    int _requestBlocks;
    int _foundCount;

    // Stamps the nodes placed by the current Record.
    int _mark;

    // Blocks each instance is a holder of, and their sum: how much of the engines' caches the index assigns to each.
    readonly Dictionary<InstanceSlot, int> _held = [];
    long _holdings;

    public int Capacity { get; } = capacity;

    /// <summary>Blocks remembered now.</summary>
    public int Count => _nodes.Count;

    /// <summary>The blocks <paramref name="slot"/> is one of the holders of.</summary>
    public int Held(InstanceSlot slot) => _held.GetValueOrDefault(slot);

    /// <summary>The mean of <see cref="Held"/> over the instances holding any block (0 when none does).</summary>
    public double MeanHeld => _held.Count == 0 ? 0 : (double)_holdings / _held.Count;

    /// <summary>Finds, for the instances that hold the first block, how many leading blocks each holds; read with
    /// <see cref="MatchedFraction"/> until the next call.</summary>
    public void Match(ReadOnlySpan<ulong> blocks)
    {
        _matchedCount = 0;
        _foundCount = 0;
        _requestBlocks = blocks.Length;
        if (blocks.IsEmpty || !_nodes.TryGetValue(blocks[0], out var node))
        {
            return;
        }

        _found[_foundCount++] = node;
        foreach (var holder in Holders(node))
        {
            if (holder is not null)
            {
                _matched[_matchedCount] = holder;
                _matchedBlocks[_matchedCount++] = 1;
            }
        }

        for (var i = 1; i < blocks.Length && i < _found.Length && _nodes.TryGetValue(blocks[i], out node); i++)
        {
            _found[_foundCount++] = node;
            var holders = Holders(node);
            var advanced = false;
            for (var m = 0; m < _matchedCount; m++)
            {
                if (_matchedBlocks[m] == i && holders.Contains(_matched[m]))
                {
                    _matchedBlocks[m]++;
                    advanced = true;
                }
            }

            if (!advanced)
            {
                return;
            }
        }
    }

    /// <summary>The part of the last matched request's blocks that <paramref name="slot"/> holds, from its start.</summary>
    public double MatchedFraction(InstanceSlot slot)
    {
        for (var m = 0; m < _matchedCount; m++)
        {
            if (ReferenceEquals(_matched[m], slot))
            {
                return (double)_matchedBlocks[m] / _requestBlocks;
            }
        }

        return 0;
    }

    /// <summary>The instance of the last <see cref="Match"/> that holds the most leading blocks and its
    /// <see cref="MatchedFraction"/> (null, 0 when none holds the first block).</summary>
    public (InstanceSlot? Holder, double Fraction) LongestHolder()
    {
        var best = -1;
        for (var m = 0; m < _matchedCount; m++)
        {
            if (best < 0 || _matchedBlocks[m] > _matchedBlocks[best])
            {
                best = m;
            }
        }

        return best < 0 ? (null, 0) : (_matched[best], (double)_matchedBlocks[best] / _requestBlocks);
    }

    /// <summary>Remembers that <paramref name="slot"/> was given these blocks (at most <see cref="Capacity"/> of
    /// them, the first ones). When they are the blocks of the last <see cref="Match"/>, its lookups are reused.</summary>
    public void Record(ReadOnlySpan<ulong> blocks, InstanceSlot slot)
    {
        blocks = blocks[..Math.Min(blocks.Length, Math.Min(Capacity, _found.Length))];
        var reuse = Math.Min(_foundCount, blocks.Length);
        _foundCount = 0;
        _mark++;
        var nodes = _found.AsSpan(0, blocks.Length);

        // The blocks already known, moved to the front as one run in request order (no move when already in order).
        var (first, last) = (None, None);
        for (var i = 0; i < blocks.Length; i++)
        {
            if (i >= reuse || _list[nodes[i]].Hash != blocks[i])
            {
                nodes[i] = _nodes.GetValueOrDefault(blocks[i], None);
            }

            var node = nodes[i];
            if (node == None || _list[node].Mark == _mark)
            {
                continue; // new, or a block hash repeated within the request (a collision): placed once
            }

            _list[node].Mark = _mark;
            if (first == None)
            {
                first = node;
            }
            else if (_list[last].Next != node)
            {
                Unlink(node);
                InsertAfter(last, node);
            }

            last = node;
        }

        if (first != None && first != _head)
        {
            MoveRunToFront(first, last);
        }

        // The new ones, each after its predecessor: the evicted tail is never one of this request's blocks, which
        // are all at the front and fewer than the capacity.
        for (var i = 0; i < blocks.Length; i++)
        {
            if (nodes[i] == None && !_nodes.TryGetValue(blocks[i], out nodes[i]))
            {
                var node = nodes[i] = Allocate(blocks[i]);
                _nodes.Add(blocks[i], node);
                _list[node].Mark = _mark;
                if (i == 0)
                {
                    PushFront(node);
                }
                else
                {
                    InsertAfter(nodes[i - 1], node);
                }
            }

            AddHolder(Holders(nodes[i]), slot);
        }
    }

    Span<InstanceSlot?> Holders(int node) => _list[node].Holders;

    void AddHolder(Span<InstanceSlot?> holders, InstanceSlot slot)
    {
        if (ReferenceEquals(holders[0], slot))
        {
            return;
        }

        var at = holders.IndexOf(slot);
        if (at < 0)
        {
            Release(holders[^1]);
            CollectionsMarshal.GetValueRefOrAddDefault(_held, slot, out _)++;
            _holdings++;
        }

        holders[..(at < 0 ? holders.Length - 1 : at)].CopyTo(holders[1..]);
        holders[0] = slot;
    }

    /// <summary>A node for a new block, not linked: a fresh one, or the least recently used one's.</summary>
    int Allocate(ulong hash)
    {
        int node;
        if (_nodes.Count < Capacity)
        {
            node = _nodes.Count;
            if (node == _list.Length)
            {
                Array.Resize(ref _list, Math.Min(Capacity, Math.Max(64, _list.Length * 2)));
            }
        }
        else
        {
            node = _tail;
            Unlink(node);
            _nodes.Remove(_list[node].Hash);
            foreach (var holder in _list[node].Holders)
            {
                Release(holder);
            }
        }

        _list[node] = new Node { Hash = hash, Previous = None, Next = None };
        return node;
    }

    void Release(InstanceSlot? holder)
    {
        if (holder is null)
        {
            return;
        }

        ref var held = ref CollectionsMarshal.GetValueRefOrNullRef(_held, holder);
        if (Unsafe.IsNullRef(ref held))
        {
            return;
        }

        _holdings--;
        if (--held == 0)
        {
            _held.Remove(holder);
        }
    }

    void PushFront(int node)
    {
        _list[node].Previous = None;
        _list[node].Next = _head;
        if (_head != None)
        {
            _list[_head].Previous = node;
        }

        _head = node;
        if (_tail == None)
        {
            _tail = node;
        }
    }

    void InsertAfter(int previous, int node)
    {
        var next = _list[previous].Next;
        _list[node].Previous = previous;
        _list[node].Next = next;
        _list[previous].Next = node;
        if (next == None)
        {
            _tail = node;
        }
        else
        {
            _list[next].Previous = node;
        }
    }

    /// <summary>Moves the linked run from <paramref name="first"/> to <paramref name="last"/> to the front.</summary>
    void MoveRunToFront(int first, int last)
    {
        var (previous, next) = (_list[first].Previous, _list[last].Next);
        _list[previous].Next = next;
        if (next == None)
        {
            _tail = previous;
        }
        else
        {
            _list[next].Previous = previous;
        }

        _list[first].Previous = None;
        _list[last].Next = _head;
        _list[_head].Previous = last;
        _head = first;
    }

    void Unlink(int node)
    {
        var (previous, next) = (_list[node].Previous, _list[node].Next);
        if (previous == None)
        {
            _head = next;
        }
        else
        {
            _list[previous].Next = next;
        }

        if (next == None)
        {
            _tail = previous;
        }
        else
        {
            _list[next].Previous = previous;
        }
    }

    /// <summary>A block, its LRU links and its holders in one element, so that a lookup touches one place.</summary>
    struct Node
    {
        public ulong Hash;
        public int Previous;
        public int Next;
        public int Mark;
        public HolderArray Holders;
    }

    [InlineArray(HoldersPerBlock)]
    struct HolderArray
    {
        InstanceSlot? _first;
    }
}
