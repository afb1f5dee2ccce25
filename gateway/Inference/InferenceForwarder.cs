using System.Diagnostics;
using System.Globalization;
using System.Net;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Sends one inference request to an instance of its deployment, over raw HTTP/1.1 (<see cref="RawEngineForwarder"/>)
/// or YARP's <see cref="IHttpForwarder"/> (<see cref="InferenceOptions.Forwarding"/>):
/// admission (<see cref="DeploymentLane"/>) gives it a slot, the answer streams back unbuffered, the slot is freed
/// when the answer is complete. An instance that refuses the connection or fails before the first byte reached
/// the client is taken out of rotation for a while and the request goes to another one; so does an instance that
/// answers that it did no work (refused, loading, draining). Once a byte reached the client nothing is retried.
/// A client that goes away cancels the upstream request (both forwarders link it to <see cref="HttpContext.RequestAborted"/>).
/// </summary>
public sealed class InferenceForwarder(IHttpForwarder forwarder, IOptions<InferenceOptions> options, InferenceMetrics metrics)
{
    /// <summary>After an instance refused work because it was full, this gateway uses no more of its slots than it
    /// still holds there for this long.</summary>
    public static readonly TimeSpan BusyBackoff = TimeSpan.FromMilliseconds(250);

    const int MaxRefusals = 20;

    /// <summary>Longest wait for an engine's TCP connection.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>An idle keep-alive connection to an engine older than this is closed, not reused: below ASP.NET Core's
    /// own keep-alive timeout (130 s), so the engine rarely closes one under a request. Both are declared before
    /// <see cref="Engines"/>, whose initializer reads them.</summary>
    public static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromMinutes(1);

    static readonly HttpMessageInvoker Engines = new(EngineHandler(
        // W3C traceparent of the forward span (HttpClient's), never the client's own header.
        new ReverseProxyPropagator(DistributedContextPropagator.Current)));

    readonly ForwarderRequestConfig _config = new()
    {
        ActivityTimeout = options.Value.ActivityTimeout,
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    InferenceOptions Options => options.Value;

    /// <summary>How the gateway connects to engines with YARP (also the benchmark's bare Kestrel+YARP floor's, with no propagator).</summary>
    public static SocketsHttpHandler EngineHandler(DistributedContextPropagator? propagator) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = InferenceForwarder.ConnectTimeout,
        PooledConnectionIdleTimeout = InferenceForwarder.IdleConnectionTimeout,
        ActivityHeadersPropagator = propagator,
    };

    /// <param name="policy">How to choose the instance (the X-DeepDeploy-Routing header's), or null for the lane's.</param>
    /// <param name="maxTokens">The request's max_tokens, or null when it sets none (<see cref="InferenceOptions.AssumedMaxTokens"/>).</param>
    public async Task ForwardAsync(HttpContext http, DeploymentLane lane, byte[] body, EngineTransformer transformer, bool native, RoutingPolicy? policy = null,
        int? maxTokens = null)
    {
        var cancellationToken = http.RequestAborted;
        var arrived = Stopwatch.GetTimestamp();
        var operation = InferenceMetrics.Operation(transformer);
        var server = Activity.Current;
        var timeline = http.Timeline();
        GatewayActivity.Describe(server, lane, operation);
        var originalBody = http.Response.Body;
        var retry = false;
        var failures = 0;
        var refusals = 0;
        while (true)
        {
            Admission admission;
            using (var span = GatewayActivity.StartAdmission(lane, retry))
            {
                var pending = lane.AcquireAsync(policy, body, retry, cancellationToken, maxTokens ?? Options.AssumedMaxTokens);
                timeline?.End(GatewayStage.Routing);
                admission = await pending;
                timeline?.End(GatewayStage.Admission);
                span?.SetTag("deepdeploy.outcome", admission.Outcome.ToString().ToLowerInvariant());
                span?.SetTag(InferenceMetrics.InstanceKey, admission.Lease?.Slot.InstanceId);
            }

            if (admission.Outcome != AdmissionOutcome.Granted)
            {
                await RefuseAsync(http, lane, admission.Outcome, operation, arrived);
                return;
            }

            if (!retry)
            {
                metrics.QueueWait(lane.Model, Stopwatch.GetElapsedTime(arrived));
            }

            var lease = admission.Lease!;
            var attempt = new ForwardAttempt { Slot = lease.Slot, Native = native ? new NativeResponseStream(originalBody, "req-" + Guid.NewGuid().ToString("N"), arrived) : null };
            var observer = new ResponseObserver((Stream?)attempt.Native ?? originalBody);
            http.Features.Set(attempt);
            http.Response.Body = observer;
            // A recorded request goes through YARP, whose HTTP client span the engine's spans hang under.
            var raw = Options.Forwarding == EngineForwarding.Raw && lease.Slot.IsPlainHttp && !GatewayActivity.IsRecorded(server);
            if (!raw)
            {
                http.Request.Body = new MemoryStream(body, writable: false);
                http.Request.ContentLength = body.Length;
            }

            ForwarderError error;
            using var streamFailure = StreamFailureGuard.Install(http);
            try
            {
                error = raw
                    ? await RawEngineForwarder.SendAsync(http, attempt, body, transformer, Options.ActivityTimeout, server)
                    : await forwarder.SendAsync(http, lease.Endpoint, Engines, _config, transformer);
                await streamFailure.EndAsync(error, originalBody, lane.Model);
                if (error == ForwarderError.None && attempt.Refused is null && attempt.Native is { } translated)
                {
                    await translated.CompleteAsync(cancellationToken);
                }
            }
            finally
            {
                if (timeline is not null)
                {
                    if (attempt.HeadersAt != 0)
                    {
                        timeline.End(GatewayStage.Forward, attempt.HeadersAt);
                        timeline.End(GatewayStage.ResponseCopy);
                    }
                    else
                    {
                        timeline.End(GatewayStage.Forward);
                    }
                }

                http.Response.Body = originalBody;
                if (attempt.Refused == "busy")
                {
                    // Before the slot is freed, so that it does not go straight to the next request.
                    lane.Saturated(lease.Slot, BusyBackoff);
                }
                else if (attempt.Refused is "loading" or "draining")
                {
                    lane.NotServing(lease.Slot, Options.UnhealthyCooldown);
                }
                else if (attempt.Refused is not null)
                {
                    lane.Exclude(lease.Slot, Options.UnhealthyCooldown);
                }

                lease.Release();
            }

            if (attempt.Refused is not null)
            {
                // The instance did no work and nothing reached the client: the request goes back to the head of
                // the queue.
                metrics.Failover(lane.Model);
                if (++refusals >= MaxRefusals)
                {
                    await ErrorAsync(http, lane, StatusCodes.Status503ServiceUnavailable, "engine_busy",
                        $"The instances of '{lane.Model}' refused the request {refusals} times. Retry shortly.", operation, arrived);
                    return;
                }

                ResetResponse(http);
                retry = true;
                continue;
            }

            if (error == ForwarderError.None)
            {
                observer.Streamed = http.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true;
                metrics.Answer(lane.Model, operation, observer, arrived);
                Ended(server, lane, operation, "ok", arrived);
                return;
            }

            if (cancellationToken.IsCancellationRequested
                || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                    or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient)
            {
                Ended(server, lane, operation, "cancelled", arrived);
                return;
            }

            if (!http.Response.HasStarted && error is ForwarderError.Request or ForwarderError.RequestBodyDestination or ForwarderError.ResponseBodyDestination or ForwarderError.ResponseHeaders)
            {
                // Refused connection, or the engine died before a byte reached the client: another instance.
                lane.Exclude(lease.Slot, Options.UnhealthyCooldown);
                metrics.Failover(lane.Model);
                if (++failures < Options.MaxAttempts)
                {
                    ResetResponse(http);
                    retry = true;
                    continue;
                }
            }

            Ended(server, lane, operation, "error", arrived, error.ToString());
            if (!http.Response.HasStarted)
            {
                ResetResponse(http);
                await ApiErrors.Write(http, StatusCodes.Status502BadGateway, "engine_unreachable",
                    $"The instances of '{lane.Model}' did not answer ({error}, {failures} attempts). Retry the request.", null);
            }

            return;
        }
    }

    async Task RefuseAsync(HttpContext http, DeploymentLane lane, AdmissionOutcome outcome, string operation, long arrived)
    {
        var model = lane.Model;
        switch (outcome)
        {
            case AdmissionOutcome.RateLimited:
                await ErrorAsync(http, lane, StatusCodes.Status429TooManyRequests, "rate_limited",
                    $"Rate limited: '{model}' already has {Options.MaxConcurrentRequests} requests in flight or waiting. Retry after a short delay.", operation, arrived);
                break;
            case AdmissionOutcome.QueueFull:
                await ErrorAsync(http, lane, StatusCodes.Status429TooManyRequests, "queue_full",
                    $"Rate limited: every instance slot of '{model}' is busy and its queue is full ({Options.QueueCapacity} waiting). Retry after a short delay.", operation, arrived);
                break;
            case AdmissionOutcome.QueueTimeout:
                await ErrorAsync(http, lane, StatusCodes.Status503ServiceUnavailable, "queue_timeout",
                    $"The request waited {Options.QueueTimeout.TotalSeconds:0.#} s for a free slot on '{model}' and was dropped. Retry, or raise settings.max_instances.", operation, arrived);
                break;
            case AdmissionOutcome.ColdStartTimeout:
                await ErrorAsync(http, lane, StatusCodes.Status503ServiceUnavailable, "cold_start_timeout",
                    $"No instance of '{model}' became ready within {Options.ColdStartTimeout.TotalSeconds:0.#} s (status: {Status(lane)}). Retry later.", operation, arrived);
                break;
            case AdmissionOutcome.Unavailable:
                await ErrorAsync(http, lane, StatusCodes.Status503ServiceUnavailable, "deployment_unavailable",
                    $"Deployment '{model}' does not serve (status: {Status(lane)}).", operation, arrived);
                break;
            case AdmissionOutcome.Cancelled:
                Ended(Activity.Current, lane, operation, "cancelled", arrived);
                break;
        }
    }

    async Task ErrorAsync(HttpContext http, DeploymentLane lane, int status, string code, string message, string operation, long arrived)
    {
        metrics.Refusal(lane.Model, RefusalReason(code));
        Ended(Activity.Current, lane, operation, "refused", arrived, code);
        http.Response.Headers.RetryAfter = Options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await ApiErrors.Write(http, status, code, message, null);
    }

    void Ended(Activity? server, DeploymentLane lane, string operation, string outcome, long arrived, string? errorType = null)
    {
        metrics.Request(lane.Model, operation, outcome, Stopwatch.GetElapsedTime(arrived), errorType);
        if (GatewayActivity.IsRecorded(server))
        {
            server.SetTag(InferenceMetrics.OutcomeKey, outcome);
            if (errorType is not null)
            {
                server.SetTag(InferenceMetrics.ErrorTypeKey, errorType);
            }
        }
    }

    /// <summary>The contract's refusal reasons (docs/observability.md) for the error codes the client sees.</summary>
    static string RefusalReason(string code) => code switch
    {
        "rate_limited" => "concurrency_limit",
        "cold_start_timeout" => "no_instance",
        "deployment_unavailable" => "unavailable",
        _ => code,
    };

    static string Status(DeploymentLane lane) => lane.Route.Status.ToString().ToLowerInvariant();

    static void ResetResponse(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.Headers.Clear();
        http.Features.Set<IForwarderErrorFeature>(null);
        http.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = null;
    }
}
