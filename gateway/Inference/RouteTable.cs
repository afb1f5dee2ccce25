using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// The gateway's in-memory routing table: model name → <see cref="DeploymentLane"/>. It is filled only by the
/// route directory (snapshots at subscribe/renewal and pushed changes, see <see cref="RouteSubscriber"/>), so that
/// resolving a model on the hot path is a dictionary read. Updates are ordered by the directory's sequence
/// numbers: a push newer than a snapshot survives the snapshot, and a removal is not undone by an older snapshot.
/// Each directory shard has its own epoch and sequence; a deployment always comes from the same shard.
/// </summary>
public sealed class RouteTable(
    IOptions<InferenceOptions> options,
    TimeProvider time,
    GatewayIdentity identity,
    IGrainFactory grains,
    ILogger<RouteTable> log)
{
    readonly object _lock = new();
    readonly Dictionary<string, DeploymentLane> _lanes = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _removedAt = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _shardOf = new(StringComparer.Ordinal);
    readonly Dictionary<int, Guid> _epochs = [];
    readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    volatile Dictionary<string, DeploymentLane> _byModel = new(StringComparer.Ordinal);
    IReadOnlyList<string> _gateways = [];

    /// <summary>Completes once the first snapshot of every shard is in.</summary>
    public Task Ready => _ready.Task;

    public IReadOnlyCollection<DeploymentLane> Lanes
    {
        get
        {
            lock (_lock)
            {
                return _lanes.Values.ToArray();
            }
        }
    }

    /// <summary>The live gateways, as the directory last said.</summary>
    public IReadOnlyList<string> Gateways => _gateways;

    /// <summary>Where lanes signal load pressure (<see cref="DeploymentLane.Pressure"/>): set by the <see cref="LoadReporter"/>.</summary>
    public Action<DeploymentLane>? Pressure { get; set; }

    /// <summary>The lane of a model ("user/model_name"), or null. Lock-free.</summary>
    public DeploymentLane? Find(string model) => _byModel.GetValueOrDefault(model);

    /// <summary>Applies a snapshot or a pushed change. False when the update comes from another directory epoch
    /// than the one this table follows (the caller should re-subscribe to get a snapshot).</summary>
    public bool Apply(RouteTableUpdate update)
    {
        bool allShardsIn;
        lock (_lock)
        {
            var epoch = _epochs.GetValueOrDefault(update.Shard);
            if (update.Epoch != epoch)
            {
                if (!update.IsSnapshot)
                {
                    return false;
                }

                if (epoch != Guid.Empty)
                {
                    log.LogWarning("Route directory shard {Shard} epoch changed ({Old} → {New}); replacing its routes", update.Shard, epoch, update.Epoch);
                }

                _epochs[update.Shard] = update.Epoch;
                foreach (var old in _removedAt.Keys.Where(InShard).ToList())
                {
                    _removedAt.Remove(old);
                }

                foreach (var lane in _lanes.Values.Where(l => InShard(l.DeployId)))
                {
                    // Versions of another epoch mean nothing: let the snapshot win.
                    lane.Update(lane.Route with { Version = long.MinValue }, Rank(), Count());
                }
            }

            if (update.Gateways is not null)
            {
                _gateways = update.Gateways;
            }

            foreach (var route in update.Routes)
            {
                _shardOf[route.DeployId] = update.Shard;
                if (_removedAt.TryGetValue(route.DeployId, out var removed) && removed > route.Version)
                {
                    continue;
                }

                if (_lanes.TryGetValue(route.DeployId, out var lane))
                {
                    if (route.Version > lane.Route.Version)
                    {
                        lane.Update(route, Rank(), Count());
                    }
                }
                else
                {
                    lane = new DeploymentLane(route, options.Value, time, Wake) { Policy = options.Value.RoutingFor(route.Model), Pressure = l => Pressure?.Invoke(l) };
                    lane.Update(route, Rank(), Count());
                    _lanes[route.DeployId] = lane;
                }
            }

            foreach (var deployId in update.Removed)
            {
                _shardOf[deployId] = update.Shard;
                Remove(deployId, update.Seq);
            }

            if (update.IsSnapshot)
            {
                var present = update.Routes.Select(r => r.DeployId).ToHashSet(StringComparer.Ordinal);
                foreach (var lane in _lanes.Values.Where(l => InShard(l.DeployId) && !present.Contains(l.DeployId) && l.Route.Version <= update.Seq).ToList())
                {
                    Remove(lane.DeployId, update.Seq);
                }

                foreach (var old in _removedAt.Where(r => InShard(r.Key) && r.Value <= update.Seq).Select(r => r.Key).ToList())
                {
                    _removedAt.Remove(old);
                    _shardOf.Remove(old);
                }
            }

            if (update.Gateways is not null)
            {
                foreach (var lane in _lanes.Values)
                {
                    lane.Update(lane.Route, Rank(), Count());
                }
            }

            _byModel = _lanes.Values
                .GroupBy(l => l.Model, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g
                    .OrderBy(l => l.Route.Status is DeploymentStatus.Failed or DeploymentStatus.Stopped ? 1 : 0)
                    .ThenByDescending(l => l.Route.Version)
                    .First(), StringComparer.Ordinal);
            allShardsIn = update.IsSnapshot && _epochs.Count >= update.Shards;
        }

        if (allShardsIn)
        {
            _ready.TrySetResult();
        }

        return true;

        bool InShard(string deployId) => _shardOf.GetValueOrDefault(deployId) == update.Shard;
    }

    void Remove(string deployId, long seq)
    {
        _removedAt[deployId] = seq;
        if (_lanes.Remove(deployId, out var lane))
        {
            // Fails whatever still waits there.
            lane.Update(lane.Route with { Status = DeploymentStatus.Deleted, Instances = [] }, Rank(), Count());
        }
    }

    int Rank()
    {
        var rank = IndexOf(_gateways, identity.Id);
        return rank >= 0 ? rank : _gateways.Count;
    }

    int Count() => IndexOf(_gateways, identity.Id) >= 0 ? _gateways.Count : _gateways.Count + 1;

    static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Cold start: ask the deployment for an instance (a grain call, only while requests are held).</summary>
    void Wake(DeploymentLane lane) => _ = Task.Run(async () =>
    {
        try
        {
            await grains.GetGrain<IDeploymentGrain>(lane.DeployId).RequestInstance();
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not wake deployment {DeployId}", lane.DeployId);
        }
    });
}
