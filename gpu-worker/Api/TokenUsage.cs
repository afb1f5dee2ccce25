namespace DeepDeploy.GpuWorker.Api;

/// <summary>The <c>usage</c> object of an OpenAI answer.</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens);
