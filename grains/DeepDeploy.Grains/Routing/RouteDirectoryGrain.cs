using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeepDeploy.Grains.Routing;

/// <summary>
/// One shard of the cluster's routing table (see <see cref="IRouteDirectoryGrain"/>, <see cref="RouteShards"/>).
/// Its routes are persisted, so that a shard that moves to another silo still knows its deployments; the
/// subscribed gateways are kept in memory only: each renews its lease every few seconds, which also re-subscribes
/// it after a move.
/// Reentrant, with the publishes that arrive while a write runs written together (<see cref="GroupCommit{T}"/>): at
/// 2,000 deployments every create publishes about three times, and one write of a shard carries ~125 routes (session 14,
/// 1,000 nodes: 5,875 shard writes in the create storm, each in the one SQLite writer's queue). A change is pushed to
/// the gateways once its write completed; the order of pushes does not matter, since gateways keep each route's
/// newest version.
/// </summary>
[KeepAlive]
[Reentrant]
public sealed class RouteDirectoryGrain(
    [PersistentState("routeShard", StorageNames.Default)] IPersistentState<RouteDirectoryState> state,
    DeepCopier<RouteDirectoryState> copier,
    IServiceProvider services,
    TimeProvider time,
    ILogger<RouteDirectoryGrain> log) : Grain, IRouteDirectoryGrain
{
    /// <summary>Before shards, grain 0 kept every route under this name; each shard takes its part once.</summary>
    const string SingleDirectoryStateName = "routes";

    readonly GroupCommit<RouteDirectoryState> _store = new(state, copier);

    static readonly TimeSpan Lease = TimeSpan.FromSeconds(IRouteDirectoryGrain.LeaseSeconds);

    readonly Dictionary<string, (IRouteObserver Observer, DateTimeOffset Expires)> _gateways = new(StringComparer.Ordinal);
    IGrainTimer? _expiry;

    RouteDirectoryState S => _store.State;

    int Shard => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Epoch == Guid.Empty)
        {
            var migrated = await MigratedRoutesAsync();
            var epoch = Guid.NewGuid();
            await _store.ChangeAsync(s => (s.Routes, s.Epoch) = (new Dictionary<string, DeploymentRoute>(migrated, StringComparer.Ordinal), epoch));
        }

        _expiry = this.RegisterGrainTimer(ExpireGateways, new GrainTimerCreationOptions(Lease / 4, Lease / 4) { KeepAlive = true });
    }

    /// <summary>This shard's routes from the single directory's saved table (read only: every shard reads it once).</summary>
    async Task<Dictionary<string, DeploymentRoute>> MigratedRoutesAsync()
    {
        var single = new GrainState<RouteDirectoryState>(new RouteDirectoryState());
        var id = GrainId.Create(this.GetGrainId().Type, GrainIdKeyExtensions.CreateIntegerKey(0));
        await services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default).ReadStateAsync(SingleDirectoryStateName, id, single);
        var mine = (single.State?.Routes ?? []).Values.Where(r => RouteShards.Of(r.DeployId) == Shard)
            .ToDictionary(r => r.DeployId, r => r with { Version = 0 }, StringComparer.Ordinal);
        if (mine.Count > 0)
        {
            log.LogInformation("Route shard {Shard} took {Count} routes from the single directory's table", Shard, mine.Count);
        }

        return mine;
    }

    public async Task Publish(DeploymentRoute route)
    {
        if (RouteShards.Of(route.DeployId) != Shard)
        {
            throw new ArgumentException($"The route of {route.DeployId} belongs to shard {RouteShards.Of(route.DeployId)}, not {Shard}.", nameof(route));
        }

        var known = S.Routes.GetValueOrDefault(route.DeployId);
        if (route.Status == DeploymentStatus.Deleted)
        {
            if (known is null)
            {
                return;
            }

            // A failed write replays the changes made after it: the numbers pushed are the last application's.
            var removedAt = 0L;
            await _store.ChangeAsync(s =>
            {
                s.Routes.Remove(route.DeployId);
                removedAt = ++s.Seq;
            });
            Push(Update([], [route.DeployId], null, removedAt));
            return;
        }

        if (known is not null && known.SameContent(route))
        {
            return;
        }

        var stored = route;
        await _store.ChangeAsync(s =>
        {
            stored = route with { Version = ++s.Seq };
            s.Routes[route.DeployId] = stored;
        });
        Push(Update([stored], [], null, stored.Version));
    }

    public Task<RouteTableUpdate> Subscribe(string gatewayId, IRouteObserver observer)
    {
        var isNew = !_gateways.ContainsKey(gatewayId);
        _gateways[gatewayId] = (observer, time.GetUtcNow() + Lease);
        if (isNew)
        {
            log.LogInformation("Gateway {Gateway} subscribed; {Count} live", gatewayId, _gateways.Count);
            Push(Update([], [], LiveGateways(), S.Seq), except: gatewayId);
        }

        return Task.FromResult(Snapshot());
    }

    public Task Unsubscribe(string gatewayId)
    {
        if (_gateways.Remove(gatewayId))
        {
            Push(Update([], [], LiveGateways(), S.Seq));
        }

        return Task.CompletedTask;
    }

    Task ExpireGateways(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expired = _gateways.Where(g => g.Value.Expires < now).Select(g => g.Key).ToList();
        foreach (var id in expired)
        {
            _gateways.Remove(id);
            log.LogWarning("Gateway {Gateway} did not renew its lease; dropped", id);
        }

        if (expired.Count > 0)
        {
            Push(Update([], [], LiveGateways(), S.Seq));
        }

        return Task.CompletedTask;
    }

    RouteTableUpdate Snapshot() => new(S.Epoch, S.Seq, true, S.Routes.Values.ToArray(), [], LiveGateways(), Shard, RouteShards.Count);

    RouteTableUpdate Update(IReadOnlyList<DeploymentRoute> routes, IReadOnlyList<string> removed, IReadOnlyList<string>? gateways, long seq) =>
        new(S.Epoch, seq, false, routes, removed, gateways, Shard, RouteShards.Count);

    IReadOnlyList<string> LiveGateways() => _gateways.Keys.Order(StringComparer.Ordinal).ToArray();

    void Push(RouteTableUpdate update, string? except = null)
    {
        foreach (var (id, gateway) in _gateways)
        {
            if (id == except)
            {
                continue;
            }

            try
            {
                // One-way: a slow or gone gateway never delays the directory; it heals at its next renewal.
                _ = gateway.Observer.OnRoutesChanged(update);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Could not push routes to gateway {Gateway}", id);
            }
        }
    }
}
