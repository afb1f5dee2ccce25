namespace DeepDeploy.Gateway.Inference;

/// <summary>One instance as a lane sees it. Mutated only under the lane's lock.</summary>
public sealed class InstanceSlot(string instanceId, string endpoint, string? secret = null)
{
    public string InstanceId { get; } = instanceId;

    public string Endpoint { get; } = endpoint;

    /// <summary>Presented to the engine on every request (<c>Authorization: Bearer</c>).</summary>
    public string? Secret { get; } = secret;

    /// <summary>Slots of this instance that this gateway may use (its share of max_batch_size).</summary>
    public int Capacity { get; set; }

    /// <summary>Requests this gateway has in flight on the instance.</summary>
    public int InFlight { get; set; }

    /// <summary>Not picked before this time (ticks of the lane's clock): unhealthy.</summary>
    public long ExcludedUntil { get; set; }

    /// <summary>Learned from a refusal (the instance was full, e.g. of another gateway's requests): use at most
    /// this many slots until <see cref="CeilingUntil"/>.</summary>
    public int Ceiling { get; set; }

    public long CeilingUntil { get; set; }
}
