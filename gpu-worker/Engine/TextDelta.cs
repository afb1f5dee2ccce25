namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Newly decoded text (already checked against stop strings).</summary>
public sealed record TextDelta(string Text) : GenerationEvent;
