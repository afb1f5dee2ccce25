namespace DeepDeploy.Contracts.Deployments;

/// <summary>A node's report about one instance. <see cref="Endpoint"/> is set once the engine serves;
/// <see cref="Download"/> while the weights download (reported about once a second); <see cref="Secret"/>, the
/// instance's secret that its engine demands of every request, with <see cref="Endpoint"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record InstanceUpdate(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] InstancePhase Phase,
    [property: Id(2)] string? Endpoint,
    [property: Id(3)] string? Message,
    [property: Id(4)] DownloadProgress? Download = null,
    [property: Id(5)] string? Secret = null)
{
    /// <summary>Records print every property: keep the secret out of logs.</summary>
    bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"InstanceId = {InstanceId}, Phase = {Phase}, Endpoint = {Endpoint}, Message = {Message}, Download = {Download}, Secret = ***");
        return true;
    }
}

/// <summary>Bytes of an instance's weights on its node's disk so far, and in all.</summary>
[GenerateSerializer, Immutable]
public sealed record DownloadProgress(
    [property: Id(0)] long BytesDone,
    [property: Id(1)] long BytesTotal);
