using LLama;
using LLama.Batched;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>A request that owns a live <see cref="Conversation"/> in the <see cref="InferenceEngine"/>'s batch.</summary>
public sealed class LlamaSequence(GenerationRequest request, Conversation conversation,
    ISamplingPipeline pipeline, StreamingTokenDecoder decoder) : BatchSequence(request)
{
    public Conversation Conversation { get; } = conversation;

    public ISamplingPipeline Pipeline { get; } = pipeline;

    public StreamingTokenDecoder Decoder { get; } = decoder;

    public override void Release()
    {
        Conversation.Dispose();
        Pipeline.Dispose();
    }
}
