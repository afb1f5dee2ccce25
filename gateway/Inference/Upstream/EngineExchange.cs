using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>
/// One request to an engine over a pooled <see cref="EngineConnection"/>: <c>POST path</c> with the instance's secret
/// and the body as bytes, the response head read; then <see cref="CopyHeaders"/> and
/// <see cref="EngineConnection.CopyBodyAsync"/>, and the connection goes back with
/// <see cref="EngineConnectionPool.Return"/>. Only what this code writes reaches the engine: no header of the client's.
/// </summary>
public static class EngineExchange
{
    /// <summary>The request head up to the Content-Length value, built once per instance and path.</summary>
    public static byte[] RequestPrefix(string path, string authority, string? secret)
    {
        if (path.AsSpan().ContainsAnyExceptInRange('!', '~') || authority.AsSpan().ContainsAnyExceptInRange('!', '~')
            || (secret is not null && secret.AsSpan().ContainsAnyExceptInRange('!', '~')))
        {
            throw new ArgumentException("Engine paths, hosts and secrets are visible ASCII without spaces.");
        }

        var authorization = secret is null ? "" : $"Authorization: Bearer {secret}\r\n";
        return Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: {authority}\r\n{authorization}Content-Type: application/json\r\nContent-Length: ");
    }

    /// <summary>Sends the request and reads the response head. A reused connection that the engine had closed
    /// before it read the request (its keep-alive timeout) is replaced by a new one, once.</summary>
    /// <param name="extraHeaders">Complete header lines (<c>Name: value\r\n</c>) added to the head, or empty.</param>
    /// <exception cref="SocketException">The engine could not be reached, or the connection failed.</exception>
    /// <exception cref="InvalidDataException">The response head is malformed.</exception>
    /// <exception cref="OperationCanceledException">The activity timeout passed, or the request was cancelled.</exception>
    public static async ValueTask<EngineConnection> SendAsync(EngineConnectionPool pool, byte[] prefix, ReadOnlyMemory<byte> body,
        string? extraHeaders, TimeSpan activityTimeout, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = await pool.RentAsync(fresh: attempt > 0, cancellationToken);
            try
            {
                var headLength = WriteHead(connection.HeadBuffer, prefix, body.Length, extraHeaders);
                await connection.SendAsync(headLength, body, activityTimeout, cancellationToken);
                if (await connection.ReadHeadAsync())
                {
                    return connection;
                }
            }
            catch (Exception e) when (connection.Reused && attempt == 0 && !cancellationToken.IsCancellationRequested
                && e is SocketException or IOException)
            {
                // Stale keep-alive connection: below, a new one.
            }
            catch
            {
                pool.Return(connection);
                throw;
            }

            var reused = connection.Reused;
            pool.Return(connection);
            if (!reused || attempt > 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset, "The engine closed the connection before answering.");
            }
        }
    }

    /// <summary>The prefix, the body's length, the extra header lines and the empty line.</summary>
    static int WriteHead(Span<byte> buffer, byte[] prefix, int contentLength, string? extraHeaders)
    {
        prefix.CopyTo(buffer);
        var length = prefix.Length;
        Utf8Formatter.TryFormat(contentLength, buffer[length..], out var written);
        length += written;
        "\r\n"u8.CopyTo(buffer[length..]);
        length += 2;
        if (extraHeaders is not null)
        {
            length += Encoding.ASCII.GetBytes(extraHeaders, buffer[length..]);
        }

        "\r\n"u8.CopyTo(buffer[length..]);
        return length + 2;
    }

    /// <summary>Copies the engine's end-to-end response headers to <paramref name="response"/> (status included);
    /// hop-by-hop ones (RFC 9110 §7.6.1) are the connection's, not the client's.</summary>
    public static void CopyHeaders(EngineConnection connection, HttpResponse response)
    {
        var head = connection.Head;
        var bytes = connection.HeadBytes;
        response.StatusCode = head.StatusCode;
        if (!head.Chunked && head.ContentLength >= 0)
        {
            response.ContentLength = head.ContentLength;
        }

        for (var i = 0; i < head.HeaderCount; i++)
        {
            var (nameRange, valueRange) = head.Header(i);
            var name = bytes[nameRange];
            if (IsHopByHop(name) || Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                continue;
            }

            response.Headers.Append(Known(name) ?? Encoding.Latin1.GetString(name), KnownValue(bytes[valueRange]) ?? Encoding.Latin1.GetString(bytes[valueRange]));
        }
    }

    static bool IsHopByHop(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "Connection"u8) || Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8)
        || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || Ascii.EqualsIgnoreCase(name, "TE"u8)
        || Ascii.EqualsIgnoreCase(name, "Trailer"u8) || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8);

    /// <summary>The engines' usual header names and values as constants: no string per request for them.</summary>
    static string? Known(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "Content-Type"u8) ? "Content-Type"
        : Ascii.EqualsIgnoreCase(name, "Date"u8) ? "Date"
        : Ascii.EqualsIgnoreCase(name, "Server"u8) ? "Server"
        : Ascii.EqualsIgnoreCase(name, "Cache-Control"u8) ? "Cache-Control"
        : null;

    static string? KnownValue(ReadOnlySpan<byte> value) =>
        value.SequenceEqual("application/json"u8) ? "application/json"
        : value.SequenceEqual("application/json; charset=utf-8"u8) ? "application/json; charset=utf-8"
        : value.SequenceEqual("text/event-stream"u8) ? "text/event-stream"
        : value.SequenceEqual("Kestrel"u8) ? "Kestrel"
        : value.SequenceEqual("no-cache"u8) ? "no-cache"
        : null;
}
