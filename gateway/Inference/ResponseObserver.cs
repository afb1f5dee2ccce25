using System.Buffers.Text;
using System.Diagnostics;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Stands between YARP and the response body of one forwarded attempt and passes every byte through unchanged,
/// noting when the first one came (time to first token, for a streamed answer) and keeping the answer's last
/// bytes, where OpenAI-compatible engines put <c>"usage": {"prompt_tokens", "completion_tokens"}</c> (the last
/// object of a JSON answer, the last event of a stream).
/// </summary>
public sealed class ResponseObserver(Stream inner) : Stream
{
    const int TailSize = 512;

    readonly byte[] _tail = new byte[TailSize];
    int _tailLength;

    /// <summary>Stopwatch timestamp of the first byte written, if any.</summary>
    public long? FirstWrite { get; private set; }

    /// <summary>The engine answered with server-sent events.</summary>
    public bool Streamed { get; set; }

    /// <summary>The token counts the answer's usage object reports, or null without one.</summary>
    public (int Input, int Output)? Usage =>
        Find(_tail.AsSpan(0, _tailLength), "\"prompt_tokens\":"u8) is { } input && Find(_tail.AsSpan(0, _tailLength), "\"completion_tokens\":"u8) is { } output
            ? (input, output)
            : null;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Observe(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Observe(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    void Observe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        FirstWrite ??= Stopwatch.GetTimestamp();
        if (bytes.Length >= TailSize)
        {
            bytes[^TailSize..].CopyTo(_tail);
            _tailLength = TailSize;
            return;
        }

        var keep = Math.Min(_tailLength, TailSize - bytes.Length);
        _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
        bytes.CopyTo(_tail.AsSpan(keep));
        _tailLength = keep + bytes.Length;
    }

    /// <summary>The number after the last <paramref name="key"/> (optional spaces after the colon).</summary>
    static int? Find(ReadOnlySpan<byte> text, ReadOnlySpan<byte> key)
    {
        var at = text.LastIndexOf(key);
        if (at < 0)
        {
            return null;
        }

        var rest = text[(at + key.Length)..].TrimStart(" "u8);
        return Utf8Parser.TryParse(rest, out int value, out _) && value >= 0 ? value : null;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
