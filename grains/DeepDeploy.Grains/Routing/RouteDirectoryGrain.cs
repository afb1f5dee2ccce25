using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Routing;

/// <summary>
/// The routing table of the cluster (see <see cref="IRouteDirectoryGrain"/>). Routes are persisted, so that a
/// directory that moves to another silo still knows every deployment; the subscribed gateways are kept in memory
/// only: each renews its lease every few seconds, which also re-subscribes it after a move.
/// </summary>
[KeepAlive]
public sealed class RouteDirectoryGrain(
    [PersistentState("routes", StorageNames.Default)] IPersistentState<RouteDirectoryState> state,
    DeepCopier<RouteDirectoryState> copier,
    TimeProvider time,
    ILogger<RouteDirectoryGrain> log) : Grain, IRouteDirectoryGrain
{
    readonly SavedState<RouteDirectoryState> _store = new(state, copier);

    static readonly TimeSpan Lease = TimeSpan.FromSeconds(IRouteDirectoryGrain.LeaseSeconds);

    readonly Dictionary<string, (IRouteObserver Observer, DateTimeOffset Expires)> _gateways = new(StringComparer.Ordinal);
    IGrainTimer? _expiry;

    RouteDirectoryState S => _store.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Epoch == Guid.Empty)
        {
            S.Epoch = Guid.NewGuid();
            await _store.WriteAsync(cancellationToken);
        }

        _expiry = this.RegisterGrainTimer(ExpireGateways, new GrainTimerCreationOptions(Lease / 4, Lease / 4) { KeepAlive = true });
    }

    public async Task Publish(DeploymentRoute route)
    {
        var known = S.Routes.GetValueOrDefault(route.DeployId);
        if (route.Status == DeploymentStatus.Deleted)
        {
            if (known is null)
            {
                return;
            }

            S.Routes.Remove(route.DeployId);
            S.Seq++;
            await _store.WriteAsync();
            Push(new RouteTableUpdate(S.Epoch, S.Seq, false, [], [route.DeployId], null));
            return;
        }

        if (known is not null && known.SameContent(route))
        {
            return;
        }

        S.Seq++;
        var stored = route with { Version = S.Seq };
        S.Routes[route.DeployId] = stored;
        await _store.WriteAsync();
        Push(new RouteTableUpdate(S.Epoch, S.Seq, false, [stored], [], null));
    }

    public Task<RouteTableUpdate> Subscribe(string gatewayId, IRouteObserver observer)
    {
        var isNew = !_gateways.ContainsKey(gatewayId);
        _gateways[gatewayId] = (observer, time.GetUtcNow() + Lease);
        if (isNew)
        {
            log.LogInformation("Gateway {Gateway} subscribed; {Count} live", gatewayId, _gateways.Count);
            Push(new RouteTableUpdate(S.Epoch, S.Seq, false, [], [], LiveGateways()), except: gatewayId);
        }

        return Task.FromResult(Snapshot());
    }

    public Task Unsubscribe(string gatewayId)
    {
        if (_gateways.Remove(gatewayId))
        {
            Push(new RouteTableUpdate(S.Epoch, S.Seq, false, [], [], LiveGateways()));
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
            Push(new RouteTableUpdate(S.Epoch, S.Seq, false, [], [], LiveGateways()));
        }

        return Task.CompletedTask;
    }

    RouteTableUpdate Snapshot() => new(S.Epoch, S.Seq, true, S.Routes.Values.ToArray(), [], LiveGateways());

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
