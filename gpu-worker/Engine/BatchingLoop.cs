using System.Diagnostics;
using System.Threading.Channels;
using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// The continuous-batching loop both engines share. One loop owns the batch: it admits queued requests (FIFO) while
/// fewer than max_batch_size sequences are held, runs one engine step for the live ones, releases sequences that
/// were answered or whose client went away, and waits for work when the batch is empty. On shutdown every held and
/// queued request fails. An engine supplies only how a sequence starts (<see cref="Begin"/>), one step
/// (<see cref="Step"/>) and, if it must wait, when a sequence can be released (<see cref="CanRelease"/>).
/// The loop runs on one dedicated thread for the engine's whole life, and a step runs on it synchronously: llama.cpp
/// (OpenMP) makes every thread that calls llama_decode the master of a thread team of its own, and decoding from
/// varying thread-pool threads left more OpenMP threads than cores, whose barrier waits then sleep instead of spin
/// (docs/worker.md). The thread blocks while there is no work.
/// </summary>
public abstract class BatchingLoop<TSequence>(int maxBatchSize, int tokensPerSequence, WorkerMetrics metrics, ILogger log)
    : IGenerationEngine
    where TSequence : BatchSequence
{
    const string ShuttingDown = "the worker is shutting down";

    readonly Channel<GenerationRequest> _incoming =
        Channel.CreateUnbounded<GenerationRequest>(new UnboundedChannelOptions { SingleReader = true });
    readonly CancellationTokenSource _stop = new();
    readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Thread? _loop;

    public int TokensPerSequence => tokensPerSequence;

    protected int MaxBatchSize => maxBatchSize;

    protected ILogger Log => log;

    protected WorkerMetrics Metrics => metrics;

    public abstract LLamaToken[] Tokenize(string text, bool special);

    public void Start()
    {
        if (_loop is not null)
        {
            return;
        }

        _loop = new Thread(() => Run(_stop.Token)) { Name = "DeepDeploy batching loop", IsBackground = true };
        _loop.Start();
    }

    public bool TryEnqueue(GenerationRequest request)
    {
        if (_stop.IsCancellationRequested || !_incoming.Writer.TryWrite(request))
        {
            return false;
        }

        metrics.WaitingAdded();
        return true;
    }

    public async Task<bool> WaitIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (metrics.Running > 0 || metrics.Waiting > 0)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Starts a sequence for an admitted request, or answers the request with a failure and returns null.</summary>
    protected abstract TSequence? Begin(GenerationRequest request);

    /// <summary>One step for the live sequences in <paramref name="batch"/>, on the loop's thread; returns the tokens
    /// generated. The step answers the sequences that end; it may fail them all through <see cref="FailAll"/>.</summary>
    protected abstract int Step(List<TSequence> batch, CancellationToken stop);

    /// <summary>Whether an answered or abandoned sequence may leave the batch now.</summary>
    protected virtual bool CanRelease(TSequence sequence) => true;

    /// <summary>Frees (or keeps, e.g. in a cache) what a sequence that leaves the batch holds.</summary>
    protected virtual void Release(TSequence sequence) => sequence.Release();

    /// <summary>Fails and releases every sequence in the batch.</summary>
    protected static void FailAll(List<TSequence> batch, string message)
    {
        foreach (var s in batch)
        {
            if (!s.Answered)
            {
                s.Fail(message);
            }

            try
            {
                s.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        batch.Clear();
    }

    void Run(CancellationToken stop)
    {
        var batch = new List<TSequence>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (batch.Count == 0)
                {
                    metrics.SetRunning(0);
                    if (!WaitForWork(stop))
                    {
                        break;
                    }
                }

                Admit(batch);
                ReleaseEnded(batch);
                metrics.SetRunning(batch.Count(s => !s.Answered));
                if (batch.Count == 0)
                {
                    continue;
                }

                metrics.AddGeneratedTokens(Step(batch, stop));
                ReleaseEnded(batch);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            log.LogCritical(ex, "Batching loop crashed");
        }
        finally
        {
            FailAll(batch, ShuttingDown);
            _incoming.Writer.TryComplete();
            while (_incoming.Reader.TryRead(out var pending))
            {
                metrics.WaitingRemoved();
                pending.Complete(new GenerationFailed(ShuttingDown));
            }

            metrics.SetRunning(0);
            _stopped.TrySetResult();
        }
    }

    /// <summary>Blocks the loop's thread until a request is queued; false once the queue is closed.</summary>
    bool WaitForWork(CancellationToken stop)
    {
        var wait = _incoming.Reader.WaitToReadAsync(stop);
        return wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    void Admit(List<TSequence> batch)
    {
        // Sequences answered but not yet released still hold their slot, so they count.
        while (batch.Count < maxBatchSize && _incoming.Reader.TryRead(out var request))
        {
            metrics.WaitingRemoved();
            if (request.Cancellation.IsCancellationRequested)
            {
                request.Complete();
                continue;
            }

            request.Admitted = Stopwatch.GetTimestamp();
            if (Begin(request) is { } sequence)
            {
                batch.Add(sequence);
                metrics.AddPromptTokens(request.PromptTokens.Length);
            }
        }
    }

    void ReleaseEnded(List<TSequence> batch)
    {
        for (var i = batch.Count - 1; i >= 0; i--)
        {
            var s = batch[i];
            if (!s.Live && CanRelease(s))
            {
                s.Request.Complete();
                Release(s);
                batch.RemoveAt(i);
            }
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _stopped.Task;
        }

        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
