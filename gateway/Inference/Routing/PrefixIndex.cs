namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// One deployment's approximate memory of which instances recently served which prefix blocks
/// (<see cref="PrefixBlocks"/>): block hash → up to <see cref="HoldersPerBlock"/> instances, most recent first; at
/// most <see cref="Capacity"/> blocks, least recently routed evicted first (a request's blocks are touched last to
/// first, so a prefix's first blocks outlive its tails, as in the engine's cache). Arrays grow on demand up to the
/// capacity, then are reused: routing allocates nothing. Used under the lane's lock.
/// </summary>
public sealed class PrefixIndex(int capacity = PrefixIndex.DefaultCapacity)
{
    /// <summary>8,192 blocks of 128 bytes: 1 MiB of distinct prompt text, about 0.6 MiB of index when full.</summary>
    public const int DefaultCapacity = 8192;

    public const int HoldersPerBlock = 4;

    const int None = -1;

    readonly Dictionary<ulong, int> _nodes = [];
    Node[] _list = [];
    InstanceSlot?[] _holders = [];
    int _head = None;
    int _tail = None;

    // The last Match: up to HoldersPerBlock instances and how many leading blocks each holds.
    readonly InstanceSlot?[] _matched = new InstanceSlot?[HoldersPerBlock];
    readonly int[] _matchedBlocks = new int[HoldersPerBlock];
    int _matchedCount;
    int _requestBlocks;

    public int Capacity { get; } = capacity;

    /// <summary>Blocks remembered now.</summary>
    public int Count => _nodes.Count;

    /// <summary>Finds, for the instances that hold the first block, how many leading blocks each holds; read with
    /// <see cref="MatchedFraction"/> until the next call.</summary>
    public void Match(ReadOnlySpan<ulong> blocks)
    {
        _matchedCount = 0;
        _requestBlocks = blocks.Length;
        if (blocks.IsEmpty || !_nodes.TryGetValue(blocks[0], out var node))
        {
            return;
        }

        foreach (var holder in Holders(node))
        {
            if (holder is not null)
            {
                _matched[_matchedCount] = holder;
                _matchedBlocks[_matchedCount++] = 1;
            }
        }

        for (var i = 1; i < blocks.Length && _nodes.TryGetValue(blocks[i], out node); i++)
        {
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

    /// <summary>Remembers that <paramref name="slot"/> was given these blocks.</summary>
    public void Record(ReadOnlySpan<ulong> blocks, InstanceSlot slot)
    {
        for (var i = blocks.Length - 1; i >= 0; i--)
        {
            if (_nodes.TryGetValue(blocks[i], out var node))
            {
                Unlink(node);
            }
            else
            {
                node = Allocate(blocks[i]);
                _nodes.Add(blocks[i], node);
            }

            PushFront(node);
            AddHolder(Holders(node), slot);
        }
    }

    Span<InstanceSlot?> Holders(int node) => _holders.AsSpan(node * HoldersPerBlock, HoldersPerBlock);

    static void AddHolder(Span<InstanceSlot?> holders, InstanceSlot slot)
    {
        var at = holders.IndexOf(slot);
        holders[..(at < 0 ? holders.Length - 1 : at)].CopyTo(holders[1..]);
        holders[0] = slot;
    }

    /// <summary>A node for a new block: a fresh one, or the least recently used one's.</summary>
    int Allocate(ulong hash)
    {
        int node;
        if (_nodes.Count < Capacity)
        {
            node = _nodes.Count;
            if (node == _list.Length)
            {
                var size = Math.Min(Capacity, Math.Max(64, _list.Length * 2));
                Array.Resize(ref _list, size);
                Array.Resize(ref _holders, size * HoldersPerBlock);
            }
        }
        else
        {
            node = _tail;
            Unlink(node);
            _nodes.Remove(_list[node].Hash);
            Holders(node).Clear();
        }

        _list[node].Hash = hash;
        return node;
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

    struct Node
    {
        public ulong Hash;
        public int Previous;
        public int Next;
    }
}
