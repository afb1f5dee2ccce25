namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Generation ended because of an engine failure or shutdown.</summary>
public sealed record GenerationFailed(string Message) : GenerationEvent;
