using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>
/// An engine's HTTP/1.1 response head (status line and headers), parsed in place from the connection's receive
/// buffer: header names and values are offsets into it, valid until the buffer is read further. One per connection,
/// reused for every response on it. Strict where a lenient reading would let two parties disagree on where the body
/// ends (RFC 9112 §6.3): conflicting Content-Length, Transfer-Encoding other than chunked, or both, are invalid.
/// </summary>
public sealed class ResponseHead
{
    /// <summary>A head larger than this is refused (the connection's receive buffer holds it whole).</summary>
    public const int MaxSize = 16 * 1024;

    const int MaxHeaders = 64;

    readonly Range[] _names = new Range[MaxHeaders];
    readonly Range[] _values = new Range[MaxHeaders];

    public int StatusCode { get; private set; }

    /// <summary>The body's length, or -1 when it is chunked or delimited by the connection's close.</summary>
    public long ContentLength { get; private set; }

    public bool Chunked { get; private set; }

    /// <summary>The engine keeps the connection open after this response (HTTP/1.1 without Connection: close).</summary>
    public bool KeepAlive { get; private set; }

    public int HeaderCount { get; private set; }

    /// <summary>The <paramref name="index"/>th header's name and value, as offsets into the parsed buffer.</summary>
    public (Range Name, Range Value) Header(int index) => (_names[index], _values[index]);

    /// <summary>Parses a complete head at the start of <paramref name="buffer"/>.</summary>
    /// <param name="consumed">The head's length, including its final empty line.</param>
    /// <returns>Done, NeedMoreData (no empty line yet) or InvalidData.</returns>
    public OperationStatus TryParse(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        var end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return buffer.Length >= MaxSize ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
        }

        var head = buffer[..(end + 2)];
        var lineEnd = head.IndexOf("\r\n"u8);
        if (!TryStatusLine(head[..lineEnd], out var minor, out var status))
        {
            return OperationStatus.InvalidData;
        }

        StatusCode = status;
        ContentLength = -1;
        Chunked = false;
        KeepAlive = minor == 1;
        HeaderCount = 0;
        var position = lineEnd + 2;
        while (position < head.Length)
        {
            var line = head[position..];
            var length = line.IndexOf("\r\n"u8);
            if (!TryHeader(line[..length], position) || HeaderCount == MaxHeaders)
            {
                return OperationStatus.InvalidData;
            }

            var name = head[_names[HeaderCount]];
            var value = head[_values[HeaderCount]];
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long contentLength, out var used) || used != value.Length || contentLength < 0
                    || (ContentLength >= 0 && ContentLength != contentLength))
                {
                    return OperationStatus.InvalidData;
                }

                ContentLength = contentLength;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                // Only "chunked" alone is understood; anything else leaves the body's end unknown.
                if (Chunked || !Ascii.EqualsIgnoreCase(value, "chunked"u8))
                {
                    return OperationStatus.InvalidData;
                }

                Chunked = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                // HTTP/1.1 stays open unless any Connection header says close; HTTP/1.0 only when one says keep-alive.
                KeepAlive = minor == 1 ? KeepAlive && !HasToken(value, "close"u8) : KeepAlive || HasToken(value, "keep-alive"u8);
            }

            HeaderCount++;
            position += length + 2;
        }

        if (Chunked && ContentLength >= 0)
        {
            return OperationStatus.InvalidData;
        }

        if (!Chunked && ContentLength < 0 && HasBody)
        {
            // Delimited by the engine closing the connection: it cannot be reused.
            KeepAlive = false;
        }

        consumed = end + 4;
        return OperationStatus.Done;
    }

    /// <summary>Whether a body follows (RFC 9112 §6.3: none for 1xx, 204 and 304; requests are never HEAD here).</summary>
    public bool HasBody => StatusCode is not (>= 100 and < 200) and not 204 and not 304;

    /// <summary><c>HTTP/1.x SP 3DIGIT [SP reason]</c>.</summary>
    static bool TryStatusLine(ReadOnlySpan<byte> line, out int minor, out int status)
    {
        minor = status = 0;
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[8] != (byte)' '
            || line[7] is not ((byte)'0' or (byte)'1') || (line.Length > 12 && line[12] != (byte)' '))
        {
            return false;
        }

        minor = line[7] - '0';
        for (var i = 9; i < 12; i++)
        {
            if (!char.IsAsciiDigit((char)line[i]))
            {
                return false;
            }

            status = status * 10 + line[i] - '0';
        }

        return status >= 100;
    }

    /// <summary><c>token ":" OWS value OWS</c>, no whitespace before the colon, no obsolete line folding.</summary>
    bool TryHeader(ReadOnlySpan<byte> line, int offset)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        foreach (var c in line[..colon])
        {
            if (c <= (byte)' ' || c >= 0x7F || "\"(),/:;<=>?@[\\]{}"u8.Contains(c))
            {
                return false;
            }
        }

        var (start, end) = (colon + 1, line.Length);
        while (start < end && line[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        while (end > start && line[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        if (line[start..end].IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
        {
            return false;
        }

        _names[HeaderCount] = new Range(offset, offset + colon);
        _values[HeaderCount] = new Range(offset + start, offset + end);
        return true;
    }

    /// <summary>Whether a comma-separated header value lists <paramref name="token"/>.</summary>
    static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var part in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[part].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }
}
