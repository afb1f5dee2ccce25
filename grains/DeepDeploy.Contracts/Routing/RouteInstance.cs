namespace DeepDeploy.Contracts.Routing;

/// <summary>One serving engine instance: its id, base URL (http://host:port) and the secret its engine demands
/// of every request (<c>Authorization: Bearer</c>; null for an engine that demands none). Gateways only.</summary>
[GenerateSerializer, Immutable]
public sealed record RouteInstance(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string? Secret = null)
{
    /// <summary>Records print every property: keep the secret out of logs.</summary>
    bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"InstanceId = {InstanceId}, Endpoint = {Endpoint}, Secret = ***");
        return true;
    }
}
