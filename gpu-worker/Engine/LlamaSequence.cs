using LLama;
using LLama.Native;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>A request that owns a live <see cref="KvSequence"/> in the <see cref="InferenceEngine"/>'s batch.</summary>
public sealed class LlamaSequence(GenerationRequest request, KvSequence kv,
    ISamplingPipeline pipeline, StreamingTokenDecoder decoder, PrefixEntry<KvSequence> cacheEntry) : BatchSequence(request)
{
    public KvSequence Kv { get; } = kv;

    public ISamplingPipeline Pipeline { get; } = pipeline;

    public StreamingTokenDecoder Decoder { get; } = decoder;

    /// <summary>The sequence's decoded tokens as the prefix cache indexes them.</summary>
    public PrefixEntry<KvSequence> CacheEntry { get; } = cacheEntry;

    /// <summary>Whether it took its cached prefix and prefills; until then it holds no cells and may wait for a running
    /// sequence that is prefilling the same prefix.</summary>
    public bool Started { get; set; }

    /// <summary>Prompt tokens already queued for decoding (cached ones included); prefill is chunked.</summary>
    public int PromptFed { get; set; }

    public bool Prefilling => PromptFed < Request.PromptTokens.Length;

    /// <summary>Tokens queued whose cells the next successful decode computes.</summary>
    public List<LLamaToken> Queued { get; } = [];

    public override void Release()
    {
        Kv.Dispose();
        Pipeline.Dispose();
    }
}
