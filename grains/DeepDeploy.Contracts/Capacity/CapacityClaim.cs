namespace DeepDeploy.Contracts.Capacity;

/// <summary>What a deployment holds of its GPU type and wants: <see cref="Instances"/> (every instance it has,
/// draining ones too: they hold GPUs) of <see cref="GpusPerInstance"/> GPUs, <see cref="Live"/> of them not draining,
/// and <see cref="Wanted"/> live instances (its quota allowing). <see cref="Wanted"/> ≤ <see cref="Live"/>: not waiting;
/// all zero: the deployment is gone.</summary>
[GenerateSerializer, Immutable]
public sealed record CapacityClaim(
    [property: Id(0)] string DeployId,
    [property: Id(1)] string Owner,
    [property: Id(2)] int GpusPerInstance,
    [property: Id(3)] int Instances,
    [property: Id(4)] int Live,
    [property: Id(5)] int Wanted);
