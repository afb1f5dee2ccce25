using DeepDeploy.GpuWorker.Engine;
using LLama.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepDeploy.Tests.Worker;

/// <summary>TEST DOUBLE: a batching loop whose step answers every live sequence at once and records the thread it
/// ran on, for the test that the loop keeps one thread (llama_decode must not hop between threads).</summary>
public sealed class StepThreadRecorder(WorkerMetrics metrics)
    : BatchingLoop<BatchSequence>(maxBatchSize: 4, tokensPerSequence: 64, metrics, NullLogger.Instance)
{
    readonly List<(int Id, string? Name, bool Pool)> _stepThreads = [];

    /// <summary>The thread of each step so far: managed id, name, whether a thread-pool thread.</summary>
    public IReadOnlyList<(int Id, string? Name, bool Pool)> StepThreads
    {
        get
        {
            lock (_stepThreads)
            {
                return [.. _stepThreads];
            }
        }
    }

    public override LLamaToken[] Tokenize(string text, bool special) => new LLamaToken[1];

    protected override BatchSequence Begin(GenerationRequest request) => new(request);

    protected override int Step(List<BatchSequence> batch, CancellationToken stop)
    {
        lock (_stepThreads)
        {
            var t = Thread.CurrentThread;
            _stepThreads.Add((t.ManagedThreadId, t.Name, t.IsThreadPoolThread));
        }

        foreach (var s in batch.Where(s => s.Live))
        {
            s.Accept(" word");
            s.Finish("length");
        }

        return batch.Count;
    }
}
