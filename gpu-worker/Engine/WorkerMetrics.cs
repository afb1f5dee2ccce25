using System.Diagnostics;
using System.Diagnostics.Metrics;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// The worker's load, kept as plain numbers for the engine and the admission gate and observed by instruments of
/// the <see cref="MeterName"/> meter, which OpenTelemetry exports at GET /metrics. Load instruments are named so
/// that the exporter writes the series names of <see cref="Metrics"/> (the node agent and gateway read them);
/// per-request instruments follow the OpenTelemetry GenAI conventions, as the gateway's do.
/// </summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "DeepDeploy.Worker";

    int _running;
    int _waiting;
    int _runningPeak;
    int _inFlight;
    int _inFlightPeak;
    long _refused;
    long _generatedTokens;
    long _promptTokens;
    int _sequenceTokens;
    long _prefixHits;
    long _prefixMisses;
    long _prefixHitTokens;
    int _prefixCacheTokens;
    int _prefixCacheEntries;
    int _prefixCacheBudget;

    readonly Histogram<double> _duration;
    readonly Histogram<double> _firstToken;
    readonly Histogram<double> _perOutputToken;
    readonly Histogram<int> _tokens;

    public WorkerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _duration = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s",
            "Time from the request's arrival at the worker to its answer.");
        _firstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s",
            "Time from the request's arrival at the worker to its first token (queue and prefill).");
        _perOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s",
            "Decode time per output token after the first.");
        _tokens = meter.CreateHistogram<int>("gen_ai.client.token.usage", "{token}", "Input and output tokens per request.");
        meter.CreateObservableGauge(Metrics.RequestsRunning, () => Running,
            description: "Requests whose sequences are live in the batch.");
        meter.CreateObservableGauge(Metrics.RequestsWaiting, () => Waiting,
            description: "Requests queued in the worker, waiting for a batch slot.");
        meter.CreateObservableGauge(Metrics.RequestsRunningPeak, () => RunningPeak,
            description: "Maximum number of live sequences since start.");
        meter.CreateObservableGauge(Metrics.RequestsInFlight, () => InFlight,
            description: "Completion requests accepted and not finished (running or waiting).");
        meter.CreateObservableGauge(Metrics.RequestsInFlightPeak, () => InFlightPeak,
            description: "Maximum number of accepted completion requests since start.");
        meter.CreateObservableCounter(Counter(Metrics.RequestsRefused), () => Refused,
            description: "Completion requests refused with 429 because max_batch_size + max_queue were in flight.");
        meter.CreateObservableCounter(Counter(Metrics.GeneratedTokens), () => GeneratedTokens,
            description: "Completion tokens generated.");
        meter.CreateObservableCounter(Counter(Metrics.PromptTokens), () => PromptTokens,
            description: "Prompt tokens processed.");
        meter.CreateObservableGauge(Metrics.SequenceTokens, () => Volatile.Read(ref _sequenceTokens),
            description: "KV cells held by the sequences in the batch.");
        meter.CreateObservableCounter(Counter(Metrics.PrefixCacheHits), () => Interlocked.Read(ref _prefixHits),
            description: "Requests that reused a cached prompt prefix.");
        meter.CreateObservableCounter(Counter(Metrics.PrefixCacheMisses), () => Interlocked.Read(ref _prefixMisses),
            description: "Requests that found no cached prompt prefix (prefix cache on).");
        meter.CreateObservableCounter(Counter(Metrics.PrefixCacheHitTokens), () => PrefixCacheHitTokens,
            description: "Prompt tokens reused from the prefix cache instead of prefilled.");
        meter.CreateObservableGauge(Metrics.PrefixCacheTokens, () => Volatile.Read(ref _prefixCacheTokens),
            description: "Tokens whose KV cells the prefix cache retains after their requests ended.");
        meter.CreateObservableGauge(Metrics.PrefixCacheEntries, () => Volatile.Read(ref _prefixCacheEntries),
            description: "Finished sequences the prefix cache retains.");
        meter.CreateObservableGauge(Metrics.PrefixCacheBudgetTokens, () => Volatile.Read(ref _prefixCacheBudget),
            description: "Tokens the prefix cache may retain (--prefix-cache-tokens); 0 = off.");
    }

    public int Running => Volatile.Read(ref _running);

    public int Waiting => Volatile.Read(ref _waiting);

    public int RunningPeak => Volatile.Read(ref _runningPeak);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int InFlightPeak => Volatile.Read(ref _inFlightPeak);

    public long Refused => Interlocked.Read(ref _refused);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long PrefixCacheHitTokens => Interlocked.Read(ref _prefixHitTokens);

    /// <summary>The admission gate's count of accepted requests (running or waiting) changed.</summary>
    public void SetInFlight(int inFlight)
    {
        Volatile.Write(ref _inFlight, inFlight);
        RaisePeak(ref _inFlightPeak, inFlight);
    }

    public void RefusedOne() => Interlocked.Increment(ref _refused);

    public void SetRunning(int running)
    {
        Volatile.Write(ref _running, running);
        RaisePeak(ref _runningPeak, running);
    }

    public void WaitingAdded() => Interlocked.Increment(ref _waiting);

    public void WaitingRemoved() => Interlocked.Decrement(ref _waiting);

    public void AddGeneratedTokens(int n) => Interlocked.Add(ref _generatedTokens, n);

    public void AddPromptTokens(int n) => Interlocked.Add(ref _promptTokens, n);

    public void SetSequenceTokens(int tokens) => Volatile.Write(ref _sequenceTokens, tokens);

    public void PrefixCacheHit(int tokens)
    {
        Interlocked.Increment(ref _prefixHits);
        Interlocked.Add(ref _prefixHitTokens, tokens);
    }

    public void PrefixCacheMiss() => Interlocked.Increment(ref _prefixMisses);

    public void SetPrefixCache(int tokens, int entries)
    {
        Volatile.Write(ref _prefixCacheTokens, tokens);
        Volatile.Write(ref _prefixCacheEntries, entries);
    }

    public void SetPrefixCacheBudget(int tokens) => Volatile.Write(ref _prefixCacheBudget, tokens);

    /// <summary>One answered request: its duration, and for a finished generation its token timing and usage.</summary>
    public void Request(string operation, string model, long arrived, GenerationRequest generation, GenerationFinished? finished)
    {
        var op = new KeyValuePair<string, object?>("gen_ai.operation.name", operation);
        var m = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        _duration.Record(Stopwatch.GetElapsedTime(arrived).TotalSeconds, op, m,
            new KeyValuePair<string, object?>("deepdeploy.outcome", finished is null ? "error" : "ok"));
        if (finished is null)
        {
            return;
        }

        _tokens.Record(finished.PromptTokens, m, new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
        _tokens.Record(finished.CompletionTokens, m, new KeyValuePair<string, object?>("gen_ai.token.type", "output"));
        if (generation.FirstToken != 0)
        {
            _firstToken.Record(Stopwatch.GetElapsedTime(arrived, generation.FirstToken).TotalSeconds, op, m);
            if (finished.CompletionTokens > 1)
            {
                _perOutputToken.Record(Stopwatch.GetElapsedTime(generation.FirstToken, generation.Ended).TotalSeconds / (finished.CompletionTokens - 1), op, m);
            }
        }
    }

    /// <summary>The instrument whose exported series is <paramref name="series"/>: the exporter appends
    /// <c>_total</c> to a counter's name.</summary>
    static string Counter(string series) => series.EndsWith("_total", StringComparison.Ordinal) ? series[..^"_total".Length] : series;

    static void RaisePeak(ref int peak, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref peak)))
        {
            if (Interlocked.CompareExchange(ref peak, value, seen) == seen)
            {
                break;
            }
        }
    }
}
