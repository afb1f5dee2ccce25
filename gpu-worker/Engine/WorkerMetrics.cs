using System.Globalization;
using System.Text;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Counters exported at GET /metrics (Prometheus text format 0.0.4).</summary>
public sealed class WorkerMetrics
{
    private int _running;
    private int _waiting;
    private int _runningPeak;
    private long _generatedTokens;
    private long _promptTokens;

    public int Running => Volatile.Read(ref _running);
    public int Waiting => Volatile.Read(ref _waiting);
    public int RunningPeak => Volatile.Read(ref _runningPeak);
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);
    public long PromptTokens => Interlocked.Read(ref _promptTokens);

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
}
