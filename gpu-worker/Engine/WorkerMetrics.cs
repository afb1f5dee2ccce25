using System.Globalization;
using System.Text;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Counters exported at GET /metrics (Prometheus text format 0.0.4).</summary>
public sealed class WorkerMetrics
{
    private int _running;
    private int _waiting;
    private int _runningPeak;
    private int _inFlight;
    private int _inFlightPeak;
    private long _refused;
    private long _generatedTokens;
    private long _promptTokens;

    public int Running => Volatile.Read(ref _running);
    public int Waiting => Volatile.Read(ref _waiting);
    public int RunningPeak => Volatile.Read(ref _runningPeak);
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);
    public long PromptTokens => Interlocked.Read(ref _promptTokens);
    public int InFlight => Volatile.Read(ref _inFlight);
    public int InFlightPeak => Volatile.Read(ref _inFlightPeak);
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The admission gate's count of accepted requests (running or waiting) changed.</summary>
    public void SetInFlight(int inFlight)
    {
        Volatile.Write(ref _inFlight, inFlight);
        int peak;
        while (inFlight > (peak = Volatile.Read(ref _inFlightPeak)))
        {
            if (Interlocked.CompareExchange(ref _inFlightPeak, inFlight, peak) == peak)
                break;
        }
    }

    public void RefusedOne() => Interlocked.Increment(ref _refused);

    public void SetRunning(int running)
    {
        Volatile.Write(ref _running, running);
        int peak;
        while (running > (peak = Volatile.Read(ref _runningPeak)))
        {
            if (Interlocked.CompareExchange(ref _runningPeak, running, peak) == peak)
                break;
        }
    }

    public void WaitingAdded() => Interlocked.Increment(ref _waiting);
    public void WaitingRemoved() => Interlocked.Decrement(ref _waiting);
    public void AddGeneratedTokens(int n) => Interlocked.Add(ref _generatedTokens, n);
    public void AddPromptTokens(int n) => Interlocked.Add(ref _promptTokens, n);

    public string Render()
    {
        var sb = new StringBuilder();
        Metric(sb, "deepdeploy_worker_requests_running", "gauge", "Requests whose sequences are live in the batch.", Running);
        Metric(sb, "deepdeploy_worker_requests_waiting", "gauge", "Requests queued in the worker, waiting for a batch slot.", Waiting);
        Metric(sb, "deepdeploy_worker_requests_running_peak", "gauge", "Maximum number of live sequences since start.", RunningPeak);
        Metric(sb, "deepdeploy_worker_requests_in_flight", "gauge", "Completion requests accepted and not finished (running or waiting).", InFlight);
        Metric(sb, "deepdeploy_worker_requests_in_flight_peak", "gauge", "Maximum number of accepted completion requests since start.", InFlightPeak);
        Metric(sb, "deepdeploy_worker_requests_refused_total", "counter", "Completion requests refused with 429 because max_batch_size + max_queue were in flight.", Refused);
        Metric(sb, "deepdeploy_worker_generated_tokens_total", "counter", "Completion tokens generated.", GeneratedTokens);
        Metric(sb, "deepdeploy_worker_prompt_tokens_total", "counter", "Prompt tokens processed.", PromptTokens);
        return sb.ToString();
    }

    private static void Metric(StringBuilder sb, string name, string type, string help, long value)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        sb.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>Completes with true when no request is running or waiting, false when the timeout elapses first.</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Running > 0 || Waiting > 0)
        {
            if (DateTime.UtcNow >= deadline)
                return false;
            await Task.Delay(20);
        }
        return true;
    }
}
