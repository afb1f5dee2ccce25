namespace DeepDeploy.GpuWorker.Api;

/// <summary>The <c>usage</c> object of an OpenAI answer; <paramref name="CachedTokens"/> is
/// <c>prompt_tokens_details.cached_tokens</c> (prompt tokens reused from the prefix cache).</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens, int CachedTokens = 0);
