using System.Net.Http.Headers;
using DeepDeploy.Gateway.Inference.Upstream;

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

    readonly byte[]?[] _requestPrefixes = new byte[]?[EngineTransformer.Count];
    EngineConnectionPool? _connections;

    /// <summary>Whether the raw HTTP/1.1 forwarder can reach the engine (<see cref="RawEngineForwarder"/>): plain http.</summary>
    public bool IsPlainHttp { get; } = endpoint.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The raw forwarder's keep-alive connections to the instance, made on first use (a race makes two and
    /// keeps one); closed when the instance leaves its lane (<see cref="CloseConnections"/>).</summary>
    public EngineConnectionPool Connections
    {
        get
        {
            if (_connections is { } pool)
            {
                return pool;
            }

            var created = EngineConnectionPool.For(Endpoint, MaxConnections, InferenceForwarder.IdleConnectionTimeout, InferenceForwarder.ConnectTimeout);
            if (Interlocked.CompareExchange(ref _connections, created, null) is { } other)
            {
                created.Dispose();
                return other;
            }

            return created;
        }
    }

    /// <summary>A bound on connections to one instance: far above any batch an engine runs, so it only stops a
    /// runaway; the slot share (<see cref="Capacity"/>) is what limits requests in flight.</summary>
    const int MaxConnections = 1024;

    /// <summary>The raw forwarder's request head for <paramref name="transformer"/>'s path up to the body's length,
    /// built on first use.</summary>
    public byte[] RequestPrefix(EngineTransformer transformer) =>
        _requestPrefixes[transformer.Index] ??= EngineExchange.RequestPrefix(transformer.EnginePath, Connections.Authority, Secret);

    /// <summary>Closes the idle connections; those in use close when their request ends.</summary>
    public void CloseConnections() => _connections?.Dispose();

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
