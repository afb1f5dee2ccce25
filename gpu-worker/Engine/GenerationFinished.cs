namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Generation ended normally; <paramref name="FinishReason"/> is "stop" or "length".</summary>
public sealed record GenerationFinished(string FinishReason, int PromptTokens, int CompletionTokens) : GenerationEvent;
