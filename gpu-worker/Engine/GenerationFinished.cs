namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Generation ended normally; <paramref name="FinishReason"/> is "stop" or "length".
/// <paramref name="CachedTokens"/> of the prompt tokens were reused from the prefix cache, not prefilled.</summary>
public sealed record GenerationFinished(string FinishReason, int PromptTokens, int CompletionTokens, int CachedTokens = 0)
    : GenerationEvent;
