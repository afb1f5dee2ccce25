namespace DeepDeploy.LocalHub;

/// <summary>
/// The tensor shapes of a generated llama GGUF: embedding width, layers, attention heads and feed-forward width.
/// <see cref="Tiny"/> is the seeded test model (milliseconds per token); <see cref="Bench"/> is large enough that
/// prefill and decode cost real CPU time, so batching and prefix caching can be measured without a download.
/// </summary>
public sealed record LlamaShape(int EmbeddingLength, int LayerCount, int HeadCount, int FeedForwardLength)
{
    /// <summary>n_embd 64, 2 layers, 4 heads, n_ff 128: ~0.1 M parameters, ~470 KB.</summary>
    public static readonly LlamaShape Tiny = new(64, 2, 4, 128);

    /// <summary>n_embd 512, 8 layers, 8 heads, n_ff 1536: ~27 M parameters, ~110 MB of F32.</summary>
    public static readonly LlamaShape Bench = new(512, 8, 8, 1536);

    public int HeadDimension => EmbeddingLength / HeadCount;

    /// <summary>Weights of the transformer blocks and norms, without the two vocabulary-sized matrices.</summary>
    public long BlockParameters =>
        (long)LayerCount * (4L * EmbeddingLength * EmbeddingLength + 3L * EmbeddingLength * FeedForwardLength + 2L * EmbeddingLength)
        + EmbeddingLength;

    /// <summary>All weights for a vocabulary of <paramref name="vocabularySize"/> tokens (embedding and output).</summary>
    public long Parameters(int vocabularySize) => BlockParameters + 2L * EmbeddingLength * vocabularySize;

    /// <summary>Throws unless the shape is one llama.cpp loads: positive sizes, heads dividing n_embd, an even
    /// head dimension (RoPE rotates pairs), and a bound that keeps one tensor below 2 G values.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(EmbeddingLength, 8, nameof(EmbeddingLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(EmbeddingLength, 8192, nameof(EmbeddingLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(LayerCount, 1, nameof(LayerCount));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LayerCount, 128, nameof(LayerCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(HeadCount, 1, nameof(HeadCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(FeedForwardLength, 1, nameof(FeedForwardLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(FeedForwardLength, 65536, nameof(FeedForwardLength));
        if (EmbeddingLength % HeadCount != 0 || HeadDimension % 2 != 0)
        {
            throw new ArgumentException(
                $"n_embd {EmbeddingLength} must split into {HeadCount} heads of an even size", nameof(HeadCount));
        }
    }
}
