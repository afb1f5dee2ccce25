using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using DeepDeploy.Gateway.Inference.Upstream;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// One forward of <see cref="InferenceForwarder"/> without YARP: the body sent as bytes over the instance's pooled
/// keep-alive connection (<see cref="EngineExchange"/>), the engine's answer streamed back as it arrives. It keeps
/// <see cref="EngineTransformer"/>'s rules (the engine's path, the instance's secret and no header of the client's,
/// a refusal swallowed, a native answer translated) and reports as YARP does (<see cref="ForwarderError"/>, and an
/// abort of a started answer that <see cref="StreamFailureGuard"/> turns into an error event), so that retries,
/// errors and metrics stay <see cref="InferenceForwarder"/>'s.
/// </summary>
public static class RawEngineForwarder
{
    static readonly byte[] RefusedName = Encoding.ASCII.GetBytes(Protocol.Headers.Refused);

    public static async Task<ForwarderError> SendAsync(HttpContext http, ForwardAttempt attempt, byte[] body, EngineTransformer transformer,
        TimeSpan activityTimeout, Activity? trace)
    {
        var slot = attempt.Slot;
        var pool = slot.Connections;
        var cancellationToken = http.RequestAborted;
        EngineConnection connection;
        try
        {
            connection = await EngineExchange.SendAsync(pool, slot.RequestPrefix(transformer), body, TraceHeaders(trace), activityTimeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ForwarderError.RequestCanceled;
        }
        catch (OperationCanceledException)
        {
            return ForwarderError.RequestTimedOut;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            // Not reached, refused, or closed before a valid response head.
            return ForwarderError.Request;
        }

        try
        {
            attempt.HeadersAt = Stopwatch.GetTimestamp();
            if (connection.Head.StatusCode is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable
                && Refused(connection) is { } refused)
            {
                // Not copied: the client sees nothing of this attempt. The short refusal is read so that the
                // connection can serve the next request.
                attempt.Refused = refused;
                await DrainAsync(connection);
                return ForwarderError.None;
            }

            EngineExchange.CopyHeaders(connection, http.Response);
            if (attempt.Native is { } native && connection.Head.StatusCode == StatusCodes.Status200OK)
            {
                http.Response.ContentLength = null;
                native.Translate(http.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true);
            }

            await connection.CopyBodyAsync(http.Response.Body);
            return ForwarderError.None;
        }
        catch (ClientWriteException)
        {
            return ForwarderError.ResponseBodyClient;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ForwarderError.ResponseBodyCanceled;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or InvalidDataException)
        {
            // The engine failed or went silent mid-answer: as YARP, abort the client's response (the guard ends an
            // event stream with an error event instead).
            http.Abort();
            return e is OperationCanceledException ? ForwarderError.ResponseBodyCanceled : ForwarderError.ResponseBodyDestination;
        }
        finally
        {
            pool.Return(connection);
        }
    }

    /// <summary>The W3C context of the request's activity when one exists but records nothing (recorded requests go
    /// through YARP, whose HTTP client span becomes the engine's parent): the engine stays in the caller's trace.</summary>
    static string? TraceHeaders(Activity? trace) =>
        trace is { IdFormat: ActivityIdFormat.W3C, Id: { } id } ? $"traceparent: {id}\r\n" : null;

    static string? Refused(EngineConnection connection)
    {
        var head = connection.Head;
        var bytes = connection.HeadBytes;
        for (var i = 0; i < head.HeaderCount; i++)
        {
            var (name, value) = head.Header(i);
            if (Ascii.EqualsIgnoreCase(bytes[name], RefusedName))
            {
                return Encoding.ASCII.GetString(bytes[value]);
            }
        }

        return null;
    }

    static async Task DrainAsync(EngineConnection connection)
    {
        try
        {
            await connection.CopyBodyAsync(Stream.Null);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or InvalidDataException)
        {
            // The connection is not reused; the refusal stands.
        }
    }
}
