using System.Text;
using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// TEST DOUBLE (<c>--engine fake</c>): the shared <see cref="BatchingLoop{TSequence}"/> with a step that computes
/// nothing — it gives every live sequence a canned word and then waits 1/<c>--fake-token-rate</c> seconds. With
/// rate 0 a sequence finishes in the step that admits it. It exists for benchmarks and simulations where the
/// proxy, not the model, must dominate.
/// </summary>
public sealed class FakeEngine(int maxBatchSize, double tokensPerSecond, int tokensPerSequence, WorkerMetrics metrics,
    TimeProvider time, ILogger<FakeEngine> log)
    : BatchingLoop<BatchSequence>(maxBatchSize, tokensPerSequence, metrics, log)
{
    static readonly string[] Words = [" lorem", " ipsum", " dolor", " sit", " amet", " consectetur", " adipiscing", " elit"];

    readonly TimeSpan _step = tokensPerSecond > 0 ? TimeSpan.FromSeconds(1 / tokensPerSecond) : TimeSpan.Zero;
    long _pacedSince;
    TimeSpan? _nextStep;

    /// <summary>One fake token per 4 UTF-8 bytes (at least one), plus BOS.</summary>
    public override LLamaToken[] Tokenize(string text, bool special) =>
        new LLamaToken[1 + (Encoding.UTF8.GetByteCount(text) + 3) / 4];

    protected override BatchSequence Begin(GenerationRequest request) => new(request);

    protected override int Step(List<BatchSequence> batch, CancellationToken stop)
    {
        if (_nextStep is null)
        {
            // Pacing starts with the first step after an idle spell.
            _pacedSince = time.GetTimestamp();
            _nextStep = TimeSpan.Zero;
        }

        // The step's end is set before its tokens are written: a reader that saw them and then moves a fake clock
        // on must find the timer already there (the loop's thread may not have run on yet).
        _nextStep += _step;
        var elapsed = time.GetElapsedTime(_pacedSince);
        var wait = _nextStep.Value - elapsed;
        if (wait < -_step * 10)
        {
            _nextStep = elapsed; // fell far behind (e.g. a GC pause): do not burst to catch up
        }

        var end = wait > TimeSpan.Zero ? Task.Delay(wait, time, stop) : Task.CompletedTask;
        var generated = 0;
        bool anyLive;
        do
        {
            anyLive = false;
            foreach (var s in batch.Where(s => s.Live))
            {
                generated++;
                var stopped = s.Accept(Words[(s.Request.PromptTokens.Length + s.CompletionTokens) % Words.Length]);
                var finish = stopped ? "stop"
                    : s.CompletionTokens >= s.Request.MaxTokens || s.Request.PromptTokens.Length + s.CompletionTokens >= TokensPerSequence ? "length"
                    : null;
                if (finish is not null)
                {
                    s.Finish(finish);
                }

                anyLive |= s.Live;
            }
        }
        while (_step == TimeSpan.Zero && anyLive); // no rate: every sequence runs to its end at once

        if (!anyLive)
        {
            _nextStep = null; // the next request starts at once; the timer is left to fire unobserved
            return generated;
        }

        end.GetAwaiter().GetResult(); // the loop's own thread: it may block
        return generated;
    }
}
