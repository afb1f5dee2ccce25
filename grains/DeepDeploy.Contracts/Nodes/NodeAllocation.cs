namespace DeepDeploy.Contracts.Nodes;

/// <summary>GPUs of one node held by one instance, and the silo that hosts the node (its liveness is the node's).
/// <see cref="Model"/>: the instance's full model name (<c>owner/model_name</c>), for the operator's view.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeAllocation(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string DeployId,
    [property: Id(2)] IReadOnlyList<int> GpuIndices,
    [property: Id(3)] SiloAddress? Silo,
    [property: Id(4)] string? Model = null);
