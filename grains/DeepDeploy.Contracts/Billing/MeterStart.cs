namespace DeepDeploy.Contracts.Billing;

/// <summary>An instance began serving at <see cref="At"/>: its GPUs are billed from then on at the price
/// fixed here, so a later price change never rewrites the past. <see cref="ModelName"/> is the full name, <c>owner/model_name</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterStart(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string DeployId,
    [property: Id(2)] string ModelName,
    [property: Id(3)] string Gpu,
    [property: Id(4)] int NumGpus,
    [property: Id(5)] decimal UsdPerGpuHour,
    [property: Id(6)] DateTimeOffset At);
