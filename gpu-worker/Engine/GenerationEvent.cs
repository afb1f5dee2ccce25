namespace DeepDeploy.GpuWorker.Engine;

/// <summary>What the engine reports back to the HTTP request that submitted a <see cref="GenerationRequest"/>.</summary>
public abstract record GenerationEvent;

/// <summary>Newly decoded text (already checked against stop strings).</summary>
public sealed record TextDelta(string Text) : GenerationEvent;

/// <summary>Generation ended normally; <paramref name="FinishReason"/> is "stop" or "length".</summary>
public sealed record GenerationFinished(string FinishReason, int PromptTokens, int CompletionTokens) : GenerationEvent;

/// <summary>Generation ended because of an engine failure or shutdown.</summary>
public sealed record GenerationFailed(string Message) : GenerationEvent;
