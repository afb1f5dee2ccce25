using System.Buffers;

namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>
/// Decodes an HTTP/1.1 chunked body (RFC 9112 §7.1) as it arrives, in any split: each call consumes what it can of
/// the buffered bytes and returns the next run of data, so that a streamed answer (SSE) passes through as soon as it
/// arrives. Chunk extensions and trailers are read and dropped.
/// </summary>
public struct ChunkedDecoder
{
    /// <summary>A chunk-size line or trailer line longer than this is refused.</summary>
    const int MaxLine = 4096;

    enum State { Size, Data, DataEnd, Trailer, Done }

    State _state;
    long _remaining;

    public readonly bool IsDone => _state == State.Done;

    /// <summary>Reads from <paramref name="input"/>.</summary>
    /// <param name="consumed">Bytes of <paramref name="input"/> used (framing and data).</param>
    /// <param name="data">The data found, as a range of <paramref name="input"/> (empty when none).</param>
    /// <returns>Done when data was found or the body ended (<see cref="IsDone"/>), NeedMoreData when the input holds no
    /// more of either, InvalidData on a framing error.</returns>
    public OperationStatus Read(ReadOnlySpan<byte> input, out int consumed, out Range data)
    {
        consumed = 0;
        data = default;
        while (true)
        {
            var rest = input[consumed..];
            switch (_state)
            {
                case State.Size:
                {
                    var line = rest.IndexOf((byte)'\n');
                    if (line < 0)
                    {
                        return rest.Length > MaxLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
                    }

                    if (line == 0 || rest[line - 1] != (byte)'\r' || !TryChunkSize(rest[..(line - 1)], out _remaining))
                    {
                        return OperationStatus.InvalidData;
                    }

                    consumed += line + 1;
                    _state = _remaining == 0 ? State.Trailer : State.Data;
                    break;
                }

                case State.Data:
                {
                    var length = (int)Math.Min(_remaining, rest.Length);
                    if (length == 0)
                    {
                        return OperationStatus.NeedMoreData;
                    }

                    data = new Range(consumed, consumed + length);
                    consumed += length;
                    _remaining -= length;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    return OperationStatus.Done;
                }

                case State.DataEnd:
                    if (rest.Length < 2)
                    {
                        return OperationStatus.NeedMoreData;
                    }

                    if (rest[0] != (byte)'\r' || rest[1] != (byte)'\n')
                    {
                        return OperationStatus.InvalidData;
                    }

                    consumed += 2;
                    _state = State.Size;
                    break;

                case State.Trailer:
                {
                    var line = rest.IndexOf((byte)'\n');
                    if (line < 0)
                    {
                        return rest.Length > MaxLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
                    }

                    if (line == 0 || rest[line - 1] != (byte)'\r')
                    {
                        return OperationStatus.InvalidData;
                    }

                    consumed += line + 1;
                    if (line == 1)
                    {
                        _state = State.Done;
                        return OperationStatus.Done;
                    }

                    break;
                }

                default:
                    return OperationStatus.Done;
            }
        }
    }

    /// <summary><c>1*HEXDIG *( BWS ";" ... )</c>: the size, then anything from whitespace or a semicolon on (extensions).</summary>
    static bool TryChunkSize(ReadOnlySpan<byte> line, out long size)
    {
        size = 0;
        var digits = 0;
        foreach (var c in line)
        {
            var value = HexValue(c);
            if (value < 0)
            {
                if (c is not ((byte)';' or (byte)' ' or (byte)'\t'))
                {
                    return false;
                }

                break;
            }

            // 15 hex digits: far beyond any body, below overflow.
            if (++digits > 15)
            {
                return false;
            }

            size = size * 16 + value;
        }

        return digits > 0;
    }

    static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
