using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// TEST DOUBLE (<c>--engine fake</c>): behaves like the continuous-batching engine as seen from outside — at most
/// max_batch_size live sequences, FIFO admission between steps, one token per live sequence per step, stop
/// strings, max_tokens, cancellation, metrics — but computes nothing: each step emits a canned word to every live
/// sequence and then waits 1/<c>--fake-token-rate</c> seconds. With rate 0 a sequence finishes in the step that
/// admits it. It exists for benchmarks and simulations where the proxy, not the model, must dominate.
/// </summary>
public sealed class FakeEngine : IGenerationEngine
{
    private static readonly string[] Words = [" lorem", " ipsum", " dolor", " sit", " amet", " consectetur", " adipiscing", " elit"];

    private readonly int _maxBatchSize;
    private readonly TimeSpan _step;
    private readonly WorkerMetrics _metrics;
    private readonly Channel<GenerationRequest> _incoming =
        Channel.CreateUnbounded<GenerationRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public FakeEngine(int maxBatchSize, double tokensPerSecond, int tokensPerSequence, WorkerMetrics metrics)
    {
        _maxBatchSize = maxBatchSize;
        _step = tokensPerSecond > 0 ? TimeSpan.FromSeconds(1 / tokensPerSecond) : TimeSpan.Zero;
        TokensPerSequence = tokensPerSequence;
        _metrics = metrics;
    }

    public int TokensPerSequence { get; }

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>One fake token per 4 UTF-8 bytes (at least one), plus BOS.</summary>
    public LLamaToken[] Tokenize(string text, bool special) =>
        new LLamaToken[1 + (Encoding.UTF8.GetByteCount(text) + 3) / 4];

    public bool TryEnqueue(GenerationRequest request)
    {
        if (_stop.IsCancellationRequested || !_incoming.Writer.TryWrite(request))
            return false;
        _metrics.WaitingAdded();
        return true;
    }

    public Task<bool> WaitIdleAsync(TimeSpan timeout) => _metrics.WaitIdleAsync(timeout);

    private async Task RunAsync(CancellationToken stop)
    {
        var active = new List<Sequence>();
        var clock = Stopwatch.StartNew();
        var nextStep = TimeSpan.Zero;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (active.Count == 0)
                {
                    _metrics.SetRunning(0);
                    if (!await _incoming.Reader.WaitToReadAsync(stop))
                        break;
                    nextStep = clock.Elapsed;
                }

                while (active.Count < _maxBatchSize && _incoming.Reader.TryRead(out var request))
                {
                    _metrics.WaitingRemoved();
                    if (request.Cancellation.IsCancellationRequested)
                    {
                        request.Complete();
                        continue;
                    }
                    _metrics.AddPromptTokens(request.PromptTokens.Length);
                    active.Add(new Sequence(request));
                }
                _metrics.SetRunning(active.Count);

                // One step: a token for every live sequence (all of them at once when there is no rate).
                var generated = 0;
                do
                {
                    for (var i = active.Count - 1; i >= 0; i--)
                    {
                        var s = active[i];
                        if (s.Request.Cancellation.IsCancellationRequested)
                        {
                            s.Request.Complete();
                            active.RemoveAt(i);
                            continue;
                        }
                        var delta = s.Stops.Append(Words[(s.Request.PromptTokens.Length + s.Tokens) % Words.Length]);
                        s.Tokens++;
                        generated++;
                        if (delta.Length > 0)
                            s.Request.Emit(new TextDelta(delta));
                        var finish = s.Stops.Stopped ? "stop"
                            : s.Tokens >= s.Request.MaxTokens || s.Request.PromptTokens.Length + s.Tokens >= TokensPerSequence ? "length"
                            : null;
                        if (finish is not null)
                        {
                            var rest = s.Stops.Flush();
                            if (rest.Length > 0)
                                s.Request.Emit(new TextDelta(rest));
                            s.Request.Complete(new GenerationFinished(finish, s.Request.PromptTokens.Length, s.Tokens));
                            active.RemoveAt(i);
                        }
                    }
                }
                while (_step == TimeSpan.Zero && active.Count > 0);
                _metrics.AddGeneratedTokens(generated);

                if (_step > TimeSpan.Zero && active.Count > 0)
                {
                    nextStep += _step;
                    var wait = nextStep - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                        await Task.Delay(wait, stop);
                    else if (wait < -_step * 10)
                        nextStep = clock.Elapsed; // fell far behind (e.g. a GC pause): do not burst to catch up
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var s in active)
                s.Request.Complete(new GenerationFailed("the worker is shutting down"));
            _incoming.Writer.TryComplete();
            while (_incoming.Reader.TryRead(out var pending))
            {
                _metrics.WaitingRemoved();
                pending.Complete(new GenerationFailed("the worker is shutting down"));
            }
            _metrics.SetRunning(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }

    private sealed class Sequence(GenerationRequest request)
    {
        public GenerationRequest Request { get; } = request;
        public StopStringMatcher Stops { get; } = new(request.Stop);
        public int Tokens { get; set; }
    }
}
