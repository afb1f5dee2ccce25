namespace DeepDeploy.Contracts.Billing;

/// <summary>One deployment's metered use within a time range. <see cref="AmountUsd"/> is rounded to cents.</summary>
[GenerateSerializer, Immutable]
public sealed record UsageLine(
    [property: Id(0)] string DeployId,
    [property: Id(1)] string ModelName,
    [property: Id(2)] string Gpu,
    [property: Id(3)] int NumGpus,
    [property: Id(4)] decimal Seconds,
    [property: Id(5)] decimal GpuSeconds,
    [property: Id(6)] decimal AmountUsd);
