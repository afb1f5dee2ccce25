using System.Diagnostics.Metrics;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// The gateway's inference metrics, meter <see cref="MeterName"/> (add it to an OpenTelemetry MeterProvider to
/// export): per model, requests in flight and waiting (gauges), requests by outcome, queue wait time, failovers.
/// </summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "DeepDeploy.Gateway";

    readonly Counter<long> _requests;
    readonly Histogram<double> _queueWait;
    readonly Counter<long> _failovers;

    public InferenceMetrics(IMeterFactory meters, RouteTable routes)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("deepdeploy.gateway.requests_in_flight",
            () => routes.Lanes.Select(l => new Measurement<int>(l.InFlight, new KeyValuePair<string, object?>("model", l.Model))),
            "{request}", "Requests this gateway has in flight on the deployment's instances.");
        meter.CreateObservableGauge("deepdeploy.gateway.requests_waiting",
            () => routes.Lanes.Select(l => new Measurement<int>(l.Waiting, new KeyValuePair<string, object?>("model", l.Model))),
            "{request}", "Requests waiting for a slot (queued, or held for a cold start).");
        _requests = meter.CreateCounter<long>("deepdeploy.gateway.requests", "{request}",
            "Inference requests by outcome (ok, rate_limited, queue_full, queue_timeout, cold_start_timeout, unavailable, engine_error, cancelled).");
        _queueWait = meter.CreateHistogram<double>("deepdeploy.gateway.queue_wait", "ms", "Time from arrival to a slot.");
        _failovers = meter.CreateCounter<long>("deepdeploy.gateway.failovers", "{attempt}",
            "Attempts sent to another instance after a refused connection, a failure before the first byte, or a refusal.");
    }

    public void Request(string model, string outcome) =>
        _requests.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("outcome", outcome));

    public void QueueWait(string model, TimeSpan wait) =>
        _queueWait.Record(wait.TotalMilliseconds, new KeyValuePair<string, object?>("model", model));

    public void Failover(string model, string reason) =>
        _failovers.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", reason));
}
