using System.Diagnostics.Metrics;
using DeepDeploy.GpuWorker.Engine;
using DeepDeploy.Tests.Support;
using LLama.Native;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Worker;

/// <summary>The batching loop steps on one dedicated thread for the engine's whole life, idle spells included: the
/// real engine calls llama_decode in its step, and llama.cpp's OpenMP gives every calling thread a thread team of
/// its own (decoding from thread-pool threads left more OpenMP threads than cores, docs/worker.md).</summary>
[Trait("Category", "Unit")]
public sealed class BatchingLoopThreadTests : IDisposable
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    readonly WorkerMetrics _metrics;

    public BatchingLoopThreadTests() => _metrics = new WorkerMetrics(_services.GetRequiredService<IMeterFactory>());

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Every_step_runs_on_the_same_dedicated_thread_across_idle_spells()
    {
        await using var engine = new StepThreadRecorder(_metrics);
        engine.Start();
        for (var i = 0; i < 5; i++)
        {
            // One request at a time, the loop idle in between: it waits for work and must come back on its thread.
            await Eventually.TrueAsync(() => _metrics.Running == 0 && _metrics.Waiting == 0, Timeout, "the loop idle");
            var request = new GenerationRequest(new LLamaToken[1], 1, new SamplingOptions(0, 1, 0), [], CancellationToken.None);
            Assert.True(engine.TryEnqueue(request));
            var events = await request.Events.ReadAllAsync().ToListAsync().AsTask().WaitAsync(Timeout);
            Assert.IsType<GenerationFinished>(events[^1]);
        }

        var threads = engine.StepThreads;
        Assert.Equal(5, threads.Count);
        Assert.Equal([(threads[0].Id, "DeepDeploy batching loop", false)], threads.Distinct());
    }
}
