namespace DeepDeploy.Contracts.Nodes;

/// <summary>One GPU of a node and the instance holding it (all null: free). <see cref="Model"/> is the full model
/// name, <c>owner/model_name</c>; null for an allocation saved before it was recorded.</summary>
[GenerateSerializer, Immutable]
public sealed record GpuHolding(
    [property: Id(0)] int Index,
    [property: Id(1)] string Type,
    [property: Id(2)] long MemoryMiB,
    [property: Id(3)] string? InstanceId,
    [property: Id(4)] string? DeployId,
    [property: Id(5)] string? Model)
{
    /// <summary>The user owning the holder: the part of the model name before the slash.</summary>
    public string? Owner => Model?.Split('/', 2) is [var owner, _] ? owner : null;
}
