using System.Diagnostics;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// One request in the batch, as <see cref="BatchingLoop{TSequence}"/> sees it: the text released so far (through
/// its stop strings), the tokens generated, and whether it has been answered. An engine derives from it to keep
/// its own per-sequence state. Only touched by the engine's loop.
/// </summary>
public class BatchSequence(GenerationRequest request)
{
    readonly StopStringMatcher _stops = new(request.Stop);

    public GenerationRequest Request { get; } = request;

    public int CompletionTokens { get; private set; }

    /// <summary>The request got its final event; the sequence leaves the batch once the engine can release it.</summary>
    public bool Answered { get; private set; }

    /// <summary>Whether the request still wants tokens (not answered, client still there).</summary>
    public bool Live => !Answered && !Request.Cancellation.IsCancellationRequested;

    /// <summary>Counts one generated token and streams its text; true once a stop string has appeared.</summary>
    public bool Accept(string piece)
    {
        if (CompletionTokens++ == 0)
        {
            Request.FirstToken = Stopwatch.GetTimestamp();
        }

        var delta = _stops.Append(piece);
        if (delta.Length > 0)
        {
            Request.Emit(new TextDelta(delta));
        }

        return _stops.Stopped;
    }

    /// <summary>Ends normally: releases held-back text, then "stop" or "length" with the usage.</summary>
    public void Finish(string finishReason)
    {
        var rest = _stops.Flush();
        if (rest.Length > 0)
        {
            Request.Emit(new TextDelta(rest));
        }

        Request.Ended = Stopwatch.GetTimestamp();
        Request.Complete(new GenerationFinished(finishReason, Request.PromptTokens.Length, CompletionTokens, Request.CachedTokens));
        Answered = true;
    }

    public void Fail(string message)
    {
        Request.Ended = Stopwatch.GetTimestamp();
        Request.Complete(new GenerationFailed(message));
        Answered = true;
    }

    /// <summary>Frees what the engine holds for this sequence.</summary>
    public virtual void Release()
    {
    }
}
