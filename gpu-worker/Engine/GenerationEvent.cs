namespace DeepDeploy.GpuWorker.Engine;

/// <summary>What the engine reports back to the HTTP request that submitted a <see cref="GenerationRequest"/>.</summary>
public abstract record GenerationEvent;
