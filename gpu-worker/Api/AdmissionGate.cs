using DeepDeploy.GpuWorker.Engine;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>
/// Bounds the completion requests this worker accepts at once to max_batch_size + max_queue (by default just
/// max_batch_size). It is the last line of the "never more than max_batch_size in flight on an instance"
/// invariant: one atomic counter in the one process that runs the instance, so it holds whatever the number of
/// gateways sending to it. A request beyond the limit is refused at once with 429 (the gateway then routes it
/// elsewhere or queues it) instead of waiting unboundedly here.
/// </summary>
public sealed class AdmissionGate(int limit, WorkerMetrics metrics)
{
    int _count;

    public int Limit => limit;

    /// <summary>A slot for one request, or null (counted as refused) at the limit.</summary>
    public AdmissionSlot? TryEnter()
    {
        while (true)
        {
            var current = Volatile.Read(ref _count);
            if (current >= limit)
            {
                metrics.RefusedOne();
                return null;
            }

            if (Interlocked.CompareExchange(ref _count, current + 1, current) == current)
            {
                metrics.SetInFlight(current + 1);
                return new AdmissionSlot(this);
            }
        }
    }

    internal void Exit() => metrics.SetInFlight(Interlocked.Decrement(ref _count));
}
