using System.Net.Http.Headers;

namespace DeepDeploy.Gateway.Inference;

/// <summary>One instance as a lane sees it. Mutated only under the lane's lock.</summary>
public sealed class InstanceSlot(string instanceId, string endpoint, string? secret = null)
{
    public string InstanceId { get; } = instanceId;

    public string Endpoint { get; } = endpoint;

    /// <summary>Presented to the engine on every request (<c>Authorization: Bearer</c>).</summary>
    public string? Secret { get; } = secret;

    /// <summary><see cref="Secret"/> as the header value; immutable, so shared by every request to the instance.</summary>
    public AuthenticationHeaderValue? Authorization { get; } = secret is null ? null : new("Bearer", secret);

    readonly Uri?[] _engineUris = new Uri?[EngineTransformer.Count];

    /// <summary>The engine's URL for <paramref name="transformer"/>'s path, parsed on first use (a benign race:
    /// two threads build equal URLs).</summary>
    public Uri EngineUri(EngineTransformer transformer) =>
        _engineUris[transformer.Index] ??= new Uri(Endpoint + transformer.EnginePath);

    /// <summary>Slots of this instance that this gateway may use (its share of max_batch_size).</summary>
    public int Capacity { get; set; }

    /// <summary>Requests this gateway has in flight on the instance.</summary>
    public int InFlight { get; set; }

    /// <summary>The max_tokens of this gateway's requests in flight on the instance: its outstanding generation.</summary>
    public long OutstandingTokens { get; set; }

    /// <summary>Not picked before this time (ticks of the lane's clock): unhealthy.</summary>
    public long ExcludedUntil { get; set; }

    /// <summary>Learned from a refusal (the instance was full, e.g. of another gateway's requests): use at most
    /// this many slots until <see cref="CeilingUntil"/>.</summary>
    public int Ceiling { get; set; }

    public long CeilingUntil { get; set; }

    /// <summary>When the ceiling was learned (0: never).</summary>
    public long CeilingSince { get; set; }

    /// <summary>Not picked before this time: the engine answered it is loading or draining.</summary>
    public long NotServingUntil { get; set; }

    /// <summary>Failures as they counted at <see cref="LastFailure"/> (see <see cref="Routing.RecentFailuresScorer"/>).</summary>
    public double Failures { get; set; }

    public long LastFailure { get; set; }

    /// <summary>Slots usable at <paramref name="now"/>: the share, or the learned ceiling while it holds.</summary>
    public int CapacityAt(long now) => CeilingUntil > now ? Math.Min(Capacity, Ceiling) : Capacity;
}
