using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// One completion job handed to the <see cref="InferenceEngine"/>. The engine writes
/// <see cref="GenerationEvent"/>s to <see cref="Events"/>, ending with exactly one
/// <see cref="GenerationFinished"/> or <see cref="GenerationFailed"/> (or nothing, if cancelled).
/// </summary>
public sealed class GenerationRequest
{
    readonly Channel<GenerationEvent> _events =
        Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    StringBuilder? _heldText;

    public GenerationRequest(LLamaToken[] promptTokens, int maxTokens, SamplingOptions sampling,
        IReadOnlyList<string> stop, CancellationToken cancellation)
    {
        if (promptTokens.Length == 0)
        {
            throw new ArgumentException("The prompt must contain at least one token.", nameof(promptTokens));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        PromptTokens = promptTokens;
        MaxTokens = maxTokens;
        Sampling = sampling;
        Stop = stop;
        Cancellation = cancellation;
        Enqueued = Stopwatch.GetTimestamp();
    }

    public LLamaToken[] PromptTokens { get; }
    public int MaxTokens { get; }
    public SamplingOptions Sampling { get; }
    public IReadOnlyList<string> Stop { get; }

    /// <summary>Cancelled when the client goes away; the engine then frees the sequence.</summary>
    public CancellationToken Cancellation { get; }

    public ChannelReader<GenerationEvent> Events => _events.Reader;

    /// <summary>The caller uses the text only at the end (a non-streaming answer): the engine holds it and writes it
    /// as one <see cref="TextDelta"/> just before <see cref="GenerationFinished"/>, instead of waking the reader
    /// (a thread-pool thread, off the engine's cores) for every token.</summary>
    public bool HoldText { get; init; }

    /// <summary>Stopwatch timestamps of the request's life, for its spans and metrics; written by the engine's loop
    /// before the final event, so a reader that got that event sees them.</summary>
    public long Enqueued { get; }

    /// <summary>Taken into the batch: prefill starts (0 until then).</summary>
    public long Admitted { get; internal set; }

    /// <summary>The first completion token was sampled: prefill is over, decode goes on (0 until then).</summary>
    public long FirstToken { get; internal set; }

    /// <summary>Prompt tokens whose KV cells came from the prefix cache (set when the request is admitted).</summary>
    public int CachedTokens { get; internal set; }

    /// <summary>Answered (finished or failed; 0 until then).</summary>
    public long Ended { get; internal set; }

    internal void Emit(TextDelta delta)
    {
        if (HoldText)
        {
            (_heldText ??= new StringBuilder()).Append(delta.Text);
        }
        else
        {
            _events.Writer.TryWrite(delta);
        }
    }

    internal void Complete(GenerationEvent? final = null)
    {
        if (final is GenerationFinished && _heldText is { Length: > 0 })
        {
            _events.Writer.TryWrite(new TextDelta(_heldText.ToString()));
        }

        if (final is not null)
        {
            _events.Writer.TryWrite(final);
        }

        _events.Writer.TryComplete();
    }
}
