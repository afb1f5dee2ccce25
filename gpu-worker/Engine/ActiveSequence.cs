using LLama;
using LLama.Batched;
using LLama.Sampling;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>A request that owns a live <see cref="Conversation"/> in the batch. Only touched by the engine loop.</summary>
internal sealed class ActiveSequence(GenerationRequest request, Conversation conversation,
    ISamplingPipeline pipeline, StreamingTokenDecoder decoder) : IDisposable
{
    public GenerationRequest Request { get; } = request;
    public Conversation Conversation { get; } = conversation;
    public ISamplingPipeline Pipeline { get; } = pipeline;
    public StreamingTokenDecoder Decoder { get; } = decoder;
    public StopStringMatcher Stops { get; } = new(request.Stop);
    public int CompletionTokens { get; set; }

    /// <summary>
    /// The request has been answered but the conversation still has tokens queued in the executor's batch;
    /// it is disposed after the next successful Infer(), so its sequence id cannot be reused too early.
    /// </summary>
    public bool Retired { get; set; }

    public void Dispose()
    {
        Conversation.Dispose();
        Pipeline.Dispose();
    }
}
