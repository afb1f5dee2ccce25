using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// The gateway's inference metrics, meter <see cref="MeterName"/>, named by the OpenTelemetry GenAI semantic
/// conventions where they exist and <c>deepdeploy.gateway.*</c> otherwise (docs/observability.md lists them):
/// requests by outcome and their duration, time to first token and per output token, token usage, refusals by
/// reason, failovers, queue size and wait, and each instance's in-flight requests against its capacity.
/// </summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "DeepDeploy.Gateway";

    public const string OperationKey = "gen_ai.operation.name";
    public const string ModelKey = "gen_ai.request.model";
    public const string TokenTypeKey = "gen_ai.token.type";
    public const string OutcomeKey = "deepdeploy.outcome";
    public const string ReasonKey = "deepdeploy.reason";
    public const string InstanceKey = "deepdeploy.instance.id";
    public const string ErrorTypeKey = "error.type";
    public const string StageKey = "stage";

    /// <summary>Bucket bounds (s) for request latencies: the GenAI conventions' advice.</summary>
    static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    /// <summary>Bucket bounds (s) for time to first token and queue waits.</summary>
    static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

    static readonly double[] PerTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

    /// <summary>Bucket bounds (s) for the gateway's own stages: from microseconds (routing) to seconds (a queue wait).</summary>
    static readonly double[] StageBuckets = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    static readonly int[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];

    readonly Counter<long> _requests;
    readonly Histogram<double> _duration;
    readonly Histogram<double> _firstToken;
    readonly Histogram<double> _perOutputToken;
    readonly Histogram<int> _tokens;
    readonly Counter<long> _refusals;
    readonly Counter<long> _failovers;
    readonly Histogram<double> _queueWait;
    readonly Histogram<double> _stage;

    public InferenceMetrics(IMeterFactory meters, RouteTable routes)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("deepdeploy.gateway.requests", "{request}",
            "Inference requests by outcome: ok, refused (429/503 before any work), error (the engines failed), cancelled (the client left).");
        _duration = meter.CreateHistogram("gen_ai.server.request.duration", "s",
            "Time from the request's arrival at the gateway to the last byte of its answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _firstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s",
            "Streamed answers: time from arrival (queue wait included) to the first chunk of the engine's answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _perOutputToken = meter.CreateHistogram("gen_ai.server.time_per_output_token", "s",
            "Streamed answers: time per output token after the first.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PerTokenBuckets });
        _tokens = meter.CreateHistogram("gen_ai.client.token.usage", "{token}",
            "Input and output tokens per request, as the engine's usage reports them.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = TokenBuckets });
        _refusals = meter.CreateCounter<long>("deepdeploy.gateway.refusals", "{request}",
            "Requests refused before any work, by reason (concurrency_limit, queue_full, queue_timeout, no_instance, unavailable, engine_busy).");
        _failovers = meter.CreateCounter<long>("deepdeploy.gateway.failovers", "{request}",
            "Attempts sent to another instance after a refused connection, a failure before the first byte, or a refusal.");
        _queueWait = meter.CreateHistogram("deepdeploy.gateway.queue.wait", "s", "Time from arrival to a slot on an instance.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _stage = meter.CreateHistogram("deepdeploy.gateway.stage.duration", "s",
            "Time of one stage of an inference request at the gateway (authentication, body_read, routing, admission, forward, response_copy); forward and response_copy include the engine's time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets });
        meter.CreateObservableGauge("deepdeploy.gateway.queue.size",
            () => routes.Lanes.Select(l => new Measurement<int>(l.Waiting, new KeyValuePair<string, object?>(ModelKey, l.Model))),
            "{request}", "Requests waiting for a slot (queued, or held for a cold start).");
        meter.CreateObservableGauge("deepdeploy.gateway.instance.in_flight",
            () => PerInstance(routes, s => s.InFlight), "{request}", "Requests this gateway has in flight on the instance.");
        meter.CreateObservableGauge("deepdeploy.gateway.instance.capacity",
            () => PerInstance(routes, s => s.Capacity), "{request}",
            "Slots of the instance this gateway may use: its share of the deployment's max_batch_size.");
    }

    public static string Operation(EngineTransformer transformer) =>
        ReferenceEquals(transformer, EngineTransformer.Chat) ? "chat" : "text_completion";

    /// <summary>One request ended: its outcome (ok, refused, error, cancelled) and its whole duration.</summary>
    public void Request(string model, string operation, string outcome, TimeSpan duration, string? errorType = null)
    {
        _requests.Add(1, new KeyValuePair<string, object?>(ModelKey, model), new KeyValuePair<string, object?>(OutcomeKey, outcome));
        var tags = new TagList
        {
            { OperationKey, operation },
            { ModelKey, model },
            { OutcomeKey, outcome },
        };
        if (errorType is not null)
        {
            tags.Add(ErrorTypeKey, errorType);
        }

        _duration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>Whether anyone listens to the stage histogram (else requests carry no timeline).</summary>
    public bool StagesEnabled => _stage.Enabled;

    public void Stage(string stage, TimeSpan duration) =>
        _stage.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(StageKey, stage));

    public void Refusal(string model, string reason) =>
        _refusals.Add(1, new KeyValuePair<string, object?>(ModelKey, model), new KeyValuePair<string, object?>(ReasonKey, reason));

    public void Failover(string model) => _failovers.Add(1, new KeyValuePair<string, object?>(ModelKey, model));

    public void QueueWait(string model, TimeSpan wait) =>
        _queueWait.Record(wait.TotalSeconds, new KeyValuePair<string, object?>(ModelKey, model));

    /// <summary>What the answer's observer saw: usage always (when the engine reported it), timing for streams.</summary>
    public void Answer(string model, string operation, ResponseObserver answer, long arrived)
    {
        if (answer.Usage is { } usage)
        {
            _tokens.Record(usage.Input, new KeyValuePair<string, object?>(ModelKey, model), new KeyValuePair<string, object?>(TokenTypeKey, "input"));
            _tokens.Record(usage.Output, new KeyValuePair<string, object?>(ModelKey, model), new KeyValuePair<string, object?>(TokenTypeKey, "output"));
        }

        if (!answer.Streamed || answer.FirstWrite is not { } first)
        {
            return;
        }

        var op = new KeyValuePair<string, object?>(OperationKey, operation);
        var m = new KeyValuePair<string, object?>(ModelKey, model);
        _firstToken.Record(Stopwatch.GetElapsedTime(arrived, first).TotalSeconds, op, m);
        if (answer.Usage is { Output: > 1 } counted)
        {
            _perOutputToken.Record(Stopwatch.GetElapsedTime(first).TotalSeconds / (counted.Output - 1), op, m);
        }
    }

    static IEnumerable<Measurement<int>> PerInstance(RouteTable routes, Func<InstanceSlot, int> value) =>
        routes.Lanes.SelectMany(lane => lane.Instances.Select(slot => new Measurement<int>(value(slot),
            new KeyValuePair<string, object?>(ModelKey, lane.Model), new KeyValuePair<string, object?>(InstanceKey, slot.InstanceId))));
}
