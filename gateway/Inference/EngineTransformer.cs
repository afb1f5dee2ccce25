using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Maps a gateway path to the engine's (/v1/chat/completions, /v1/completions), keeps the caller's token away
/// from the engine and presents the instance's secret instead, and looks at the engine's answer before anything reaches the client: a refusal (the engine
/// did no work) is swallowed so that the request can be sent elsewhere, and a native-API answer is handed to the
/// translating stream.
/// </summary>
public sealed class EngineTransformer(string enginePath, int index) : HttpTransformer
{
    public static readonly EngineTransformer Chat = new("/v1/chat/completions", 0);

    public static readonly EngineTransformer Completions = new("/v1/completions", 1);

    /// <summary>The headers of the process's trace context propagator (W3C: traceparent, tracestate, baggage).</summary>
    static readonly string[] TraceFields = [.. DistributedContextPropagator.Current.Fields ?? []];

    /// <summary>How many transformers there are: <see cref="InstanceSlot"/> keeps one engine URL per transformer.</summary>
    internal const int Count = 2;

    internal string EnginePath => enginePath;

    /// <summary>This transformer's place among <see cref="Count"/>.</summary>
    internal int Index => index;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
        string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // The client's trace context never reaches the engine: with a recorded request the forward span's replaces it
        // (the handler's propagator), without one (no Activity: tracing off) nothing does.
        foreach (var field in TraceFields)
        {
            if (httpContext.Request.Headers.ContainsKey(field))
            {
                proxyRequest.Headers.Remove(field);
            }
        }

        // Both parsed once per instance, not per request (they showed in the allocation profile, docs/gateway.md).
        var slot = httpContext.Features.Get<ForwardAttempt>()?.Slot;
        proxyRequest.RequestUri = slot?.EngineUri(this) ?? new Uri(destinationPrefix + enginePath);
        proxyRequest.Headers.Authorization = slot?.Authorization;
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse,
        CancellationToken cancellationToken)
    {
        var attempt = httpContext.Features.Get<ForwardAttempt>();
        if (attempt is not null)
        {
            attempt.HeadersAt = Stopwatch.GetTimestamp();
        }

        if (attempt is not null && proxyResponse is not null
            && proxyResponse.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
            && proxyResponse.Headers.TryGetValues(Protocol.Headers.Refused, out var refused))
        {
            // Not copied: the client sees nothing of this attempt.
            attempt.Refused = refused.FirstOrDefault() ?? "refused";
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            return false;
        }

        var copyBody = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (attempt?.Native is { } native && proxyResponse?.StatusCode == HttpStatusCode.OK)
        {
            httpContext.Response.Headers.ContentLength = null;
            native.Translate(proxyResponse.Content.Headers.ContentType?.MediaType == "text/event-stream");
        }

        return copyBody;
    }
}
