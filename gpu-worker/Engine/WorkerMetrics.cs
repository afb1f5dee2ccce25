using System.Diagnostics.Metrics;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// The worker's load, kept as plain numbers for the engine and the admission gate and observed by instruments of
/// the <see cref="MeterName"/> meter, which OpenTelemetry exports at GET /metrics. Instrument names are the scraped
/// series names of <see cref="Metrics"/> (counters already end in <c>_total</c>, so the exporter adds no suffix).
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

    public WorkerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
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
        meter.CreateObservableCounter(Metrics.RequestsRefused, () => Refused,
            description: "Completion requests refused with 429 because max_batch_size + max_queue were in flight.");
        meter.CreateObservableCounter(Metrics.GeneratedTokens, () => GeneratedTokens,
            description: "Completion tokens generated.");
        meter.CreateObservableCounter(Metrics.PromptTokens, () => PromptTokens,
            description: "Prompt tokens processed.");
    }

    public int Running => Volatile.Read(ref _running);

    public int Waiting => Volatile.Read(ref _waiting);

    public int RunningPeak => Volatile.Read(ref _runningPeak);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int InFlightPeak => Volatile.Read(ref _inFlightPeak);

    public long Refused => Interlocked.Read(ref _refused);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

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
