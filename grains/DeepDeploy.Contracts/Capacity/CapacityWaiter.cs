namespace DeepDeploy.Contracts.Capacity;

/// <summary>A waiting deployment in the arbiter's order: its owner's GPUs of the type (with grants not yet placed),
/// what it runs and wants, since when it waits, and instances granted but not placed yet.</summary>
[GenerateSerializer, Immutable]
public sealed record CapacityWaiter(
    [property: Id(0)] string DeployId,
    [property: Id(1)] string Owner,
    [property: Id(2)] int OwnerGpus,
    [property: Id(3)] int GpusPerInstance,
    [property: Id(4)] int Live,
    [property: Id(5)] int Wanted,
    [property: Id(6)] DateTimeOffset WaitingSince,
    [property: Id(7)] int Granted);
