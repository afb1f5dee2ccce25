namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Sampling settings of one request. Temperature 0 means greedy decoding.</summary>
public sealed record SamplingOptions(float Temperature, float TopP, uint Seed);
