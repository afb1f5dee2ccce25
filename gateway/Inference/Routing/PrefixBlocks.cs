using System.IO.Hashing;
using System.Text.Json;

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// The prefix of a request as chained block hashes, what <see cref="PrefixIndex"/> remembers: the JSON tokens of
/// <c>tools</c>, then <c>messages</c> (chat), <c>prompt</c> (completions) or <c>input</c> (native), each token as its
/// kind and raw bytes (so whitespace and the order of other fields do not matter), cut into
/// <see cref="BlockBytes"/>-byte blocks; block i's hash is XxHash3 of its bytes seeded with block i-1's, so equal
/// hashes mean equal prefixes (up to collisions). The last partial block is left out (it is the part that differs),
/// as an engine's block cache does. Computed once per request, before the lane's lock.
/// </summary>
public static class PrefixBlocks
{
    /// <summary>About 32 tokens of English text.</summary>
    public const int BlockBytes = 128;

    /// <summary>At most this many blocks (32 KiB of prompt) are hashed: the first ones tell prefixes apart.</summary>
    public const int MaxBlocks = 256;

    /// <summary>Per process, so that block hashes cannot be computed (or collided) from outside.</summary>
    static readonly long Seed = Random.Shared.NextInt64();

    /// <summary>The blocks <paramref name="policy"/> needs (none unless it routes by prefix).</summary>
    public static ReadOnlyMemory<ulong> For(RoutingPolicy policy, ReadOnlyMemory<byte> body) =>
        policy.Picker is PrefixAffinityPicker ? Hash(body.Span) : default;

    /// <summary>The chained hashes of the body's full blocks; none when the body is not a JSON object.</summary>
    public static ulong[] Hash(ReadOnlySpan<byte> body)
    {
        Span<byte> block = stackalloc byte[BlockBytes];
        Span<ulong> hashes = stackalloc ulong[MaxBlocks];
        var hasher = new Hasher(block, hashes);
        try
        {
            var (tools, text) = Locate(body);
            hasher.AddTokens(body.Slice(tools.Start, tools.Length));
            hasher.AddTokens(body.Slice(text.Start, text.Length));
        }
        catch (JsonException)
        {
            return [];
        }

        return hasher.Hashes.ToArray();
    }

    /// <summary>Where the values of <c>tools</c> and of the text (<c>messages</c>, else <c>prompt</c>, else
    /// <c>input</c>) lie in the body (empty: absent), in one pass over its top level.</summary>
    static ((int Start, int Length) Tools, (int Start, int Length) Text) Locate(ReadOnlySpan<byte> body)
    {
        // tools, messages, prompt, input
        Span<(int Start, int Length)> values = stackalloc (int, int)[4];
        values.Clear();
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return default;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var which = reader.ValueTextEquals("tools"u8) ? 0
                : reader.ValueTextEquals("messages"u8) ? 1
                : reader.ValueTextEquals("prompt"u8) ? 2
                : reader.ValueTextEquals("input"u8) ? 3
                : -1;
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            if (which >= 0 && values[which].Length == 0)
            {
                values[which] = (start, (int)reader.BytesConsumed - start);
            }
        }

        var text = values[1].Length > 0 ? values[1] : values[2].Length > 0 ? values[2] : values[3];
        return (values[0], text);
    }

    ref struct Hasher(Span<byte> block, Span<ulong> hashes)
    {
        readonly Span<byte> _block = block;
        readonly Span<ulong> _hashes = hashes;
        int _filled;
        int _count;

        public readonly ReadOnlySpan<ulong> Hashes => _hashes[.._count];

        public void AddTokens(ReadOnlySpan<byte> json)
        {
            if (json.IsEmpty)
            {
                return;
            }

            var reader = new Utf8JsonReader(json);
            while (_count < _hashes.Length && reader.Read())
            {
                Add([(byte)reader.TokenType]);
                Add(reader.ValueSpan);
            }
        }

        void Add(scoped ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty && _count < _hashes.Length)
            {
                var take = Math.Min(bytes.Length, _block.Length - _filled);
                bytes[..take].CopyTo(_block[_filled..]);
                _filled += take;
                bytes = bytes[take..];
                if (_filled == _block.Length)
                {
                    var seed = _count == 0 ? Seed : (long)_hashes[_count - 1];
                    _hashes[_count++] = XxHash3.HashToUInt64(_block, seed);
                    _filled = 0;
                }
            }
        }
    }
}
