using System.Text.Json;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Ends a streamed answer whose engine failed after the first byte reached the client (a worker killed mid-stream)
/// with a last server-sent event, <c>data: {"error":{"code":"upstream_failed",...}}</c>, and a clean end of the
/// stream, where YARP would abort the connection: nothing can be retried once a byte was sent, but the client learns
/// why its answer stops. It stands in for the request's abort (and HTTP/2 reset) feature during one forward and holds
/// back YARP's abort of a started response; <see cref="EndAsync"/> then writes the event, or carries the abort out
/// when the answer is not an event stream or the failure was not the engine's.
/// </summary>
public sealed class StreamFailureGuard : IHttpRequestLifetimeFeature, IHttpResetFeature, IDisposable
{
    public const string Code = "upstream_failed";

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    readonly HttpContext _http;
    readonly IHttpRequestLifetimeFeature _lifetime;
    readonly IHttpResetFeature? _reset;
    Action? _held;
    bool _ended;

    StreamFailureGuard(HttpContext http, IHttpRequestLifetimeFeature lifetime, IHttpResetFeature? reset)
    {
        _http = http;
        _lifetime = lifetime;
        _reset = reset;
    }

    public CancellationToken RequestAborted
    {
        get => _lifetime.RequestAborted;
        set => _lifetime.RequestAborted = value;
    }

    /// <summary>Stands in for the request's abort and reset features until <see cref="EndAsync"/> or <see cref="Dispose"/>.</summary>
    public static StreamFailureGuard Install(HttpContext http)
    {
        var guard = new StreamFailureGuard(http, http.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>(), http.Features.Get<IHttpResetFeature>());
        http.Features.Set<IHttpRequestLifetimeFeature>(guard);
        if (guard._reset is not null)
        {
            http.Features.Set<IHttpResetFeature>(guard);
        }

        return guard;
    }

    public void Abort() => _held ??= _lifetime.Abort;

    public void Reset(int errorCode) => _held ??= () => _reset!.Reset(errorCode);

    /// <summary>After the forward: puts the request's own features back, and if YARP gave up on a started answer
    /// writes the error event to <paramref name="client"/> (an engine failure on an event stream) or aborts.</summary>
    public async Task EndAsync(ForwarderError error, Stream client, string model)
    {
        Restore();
        if (_held is not { } abort)
        {
            return;
        }

        _held = null;
        // Destination: the engine's connection broke; canceled while the client is still there: the engine went
        // silent for the activity timeout.
        if (error is ForwarderError.ResponseBodyDestination or ForwarderError.ResponseBodyCanceled
            && _http.Response.HasStarted && !_lifetime.RequestAborted.IsCancellationRequested
            && _http.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
        {
            try
            {
                await client.WriteAsync(Event(model));
                await client.FlushAsync();
                return;
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away too.
            }
        }

        abort();
    }

    /// <summary>Puts the request's own features back and carries out an abort still held (the forward threw).</summary>
    public void Dispose()
    {
        Restore();
        var abort = _held;
        _held = null;
        abort?.Invoke();
    }

    void Restore()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        _http.Features.Set(_lifetime);
        if (_reset is not null)
        {
            _http.Features.Set(_reset);
        }
    }

    /// <summary>The event; the blank line first ends whatever line the engine left unfinished (empty lines are no
    /// events in SSE), so the error is one event of its own.</summary>
    static byte[] Event(string model)
    {
        var error = new ApiErrorBody(new ApiError(Code,
            $"The engine serving '{model}' failed while answering; the answer above is incomplete. Retry the request.", null));
        return [.. "\n\ndata: "u8, .. JsonSerializer.SerializeToUtf8Bytes(error, Json), .. "\n\n"u8];
    }
}
