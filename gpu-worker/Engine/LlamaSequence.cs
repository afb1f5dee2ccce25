using LLama;
using LLama.Batched;
using LLama.Native;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>A request that owns a live <see cref="Conversation"/> in the <see cref="InferenceEngine"/>'s batch.</summary>
public sealed class LlamaSequence(GenerationRequest request, Conversation conversation,
    ISamplingPipeline pipeline, StreamingTokenDecoder decoder, PrefixEntry<Conversation> cacheEntry) : BatchSequence(request)
{
    public Conversation Conversation { get; } = conversation;

    public ISamplingPipeline Pipeline { get; } = pipeline;

    public StreamingTokenDecoder Decoder { get; } = decoder;

    /// <summary>The sequence's decoded tokens as the prefix cache indexes them.</summary>
    public PrefixEntry<Conversation> CacheEntry { get; } = cacheEntry;

    /// <summary>Prompt tokens already handed to the executor (cached ones included); prefill is chunked.</summary>
    public int PromptFed { get; set; }

    public bool Prefilling => PromptFed < Request.PromptTokens.Length;

    /// <summary>Tokens handed to the executor whose cells the next successful decode computes.</summary>
    public List<LLamaToken> Queued { get; } = [];

    public override void Release()
    {
        Conversation.Dispose();
        Pipeline.Dispose();
    }
}
