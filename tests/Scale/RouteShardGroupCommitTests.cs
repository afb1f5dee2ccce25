using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Routing;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DeepDeploy.Tests.Scale;

/// <summary>A route shard's publishes that arrive while its write runs share the next write, and each reaches the
/// gateways with the version it was saved under.</summary>
public sealed class RouteShardGroupCommitTests
{
    [Fact]
    public async Task Publishes_during_a_write_share_the_next_and_each_is_pushed_with_its_saved_version()
    {
        var held = new HeldShardWrites();
        await using var sim = await SimulatedCluster.StartAsync(1, silo: s => held.WrapDefaultStorage(s.Services));
        var ids = Enumerable.Range(0, 100_000).Select(i => $"d{i:D6}").Where(id => RouteShards.Of(id) == 3).Take(60).ToArray();
        var shard = sim.Grains.GetGrain<IRouteDirectoryGrain>(3);
        var gateway = new PushedRoutes();
        var observer = sim.Grains.CreateObjectReference<IRouteObserver>(gateway);
        await shard.Subscribe("gw-test", observer);

        // Storage holds the shard's writes: the first publish's write waits, the others change the state meanwhile.
        held.Hold();
        var publishes = ids.Select(id => shard.Publish(new DeploymentRoute(id, $"alice/{id}", DeploymentStatus.Running, 4, 1,
            new[] { new RouteInstance($"{id}-0", "http://127.0.0.1:1", "secret") }))).ToArray();
        await Eventually.TrueAsync(async () => (await shard.Subscribe("gw-test", observer)).Seq == 60, TimeSpan.FromSeconds(10), "every publish applied while the write is held");
        Assert.Empty(gateway.Versions);
        held.Release();
        await Task.WhenAll(publishes);
        await shard.Publish(new DeploymentRoute(ids[0], $"alice/{ids[0]}", DeploymentStatus.Deleted, 4, 1, Array.Empty<RouteInstance>()));

        var snapshot = await shard.Subscribe("gw-test", observer);
        Assert.Equal(61, snapshot.Seq);
        Assert.Equal(ids.Skip(1).Order(StringComparer.Ordinal), snapshot.Routes.Select(r => r.DeployId).Order(StringComparer.Ordinal));
        Assert.Equal(59, snapshot.Routes.Select(r => r.Version).Distinct().Count(v => v is >= 1 and <= 60));
        await Eventually.TrueAsync(() => gateway.Versions.Count == 60 && gateway.RemovedAt.Count == 1, TimeSpan.FromSeconds(10), "every change pushed");
        Assert.All(snapshot.Routes, r => Assert.Equal(r.Version, gateway.Versions[r.DeployId]));
        Assert.Equal(61, gateway.RemovedAt[ids[0]]);

        // Storage holds the snapshot, from 4 writes: the shard's epoch, the held one, the 59 publishes that waited, the removal.
        var saved = new GrainState<RouteDirectoryState>(new RouteDirectoryState());
        await sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default)
            .ReadStateAsync("routeShard", shard.GetGrainId(), saved);
        Assert.Equal(61, saved.State!.Seq);
        Assert.Equal(snapshot.Routes.Count, saved.State.Routes.Count);
        Assert.All(snapshot.Routes, r => Assert.True(r.SameContent(saved.State.Routes[r.DeployId]) && r.Version == saved.State.Routes[r.DeployId].Version, r.DeployId));
        Assert.Equal("4", saved.ETag);
    }

    /// <summary>TEST DOUBLE around the cluster's grain storage: while held, route shard writes wait for the release.</summary>
    sealed class HeldShardWrites
    {
        TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldShardWrites() => _released.SetResult();

        public void Hold() => _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.SetResult();

        public void WrapDefaultStorage(IServiceCollection services)
        {
            var registered = services.Last(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, StorageNames.Default) && d.KeyedImplementationFactory is not null);
            services.Remove(registered);
            services.AddKeyedSingleton<IGrainStorage>(StorageNames.Default, (provider, key) => new Storage(this, (IGrainStorage)registered.KeyedImplementationFactory!(provider, key)));
        }

        sealed class Storage(HeldShardWrites held, IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
        {
            public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

            public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

            public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
            {
                if (stateName == "routeShard")
                {
                    await held._released.Task;
                }

                await inner.WriteStateAsync(stateName, grainId, grainState);
            }

            public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
        }
    }

    /// <summary>A gateway's route subscriber that keeps each deployment's newest pushed version.</summary>
    sealed class PushedRoutes : IRouteObserver
    {
        public ConcurrentDictionary<string, long> Versions { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, long> RemovedAt { get; } = new(StringComparer.Ordinal);

        public Task OnRoutesChanged(RouteTableUpdate update)
        {
            foreach (var route in update.Routes)
            {
                Versions.AddOrUpdate(route.DeployId, route.Version, (_, v) => Math.Max(v, route.Version));
            }

            foreach (var id in update.Removed)
            {
                RemovedAt[id] = update.Seq;
            }

            return Task.CompletedTask;
        }
    }
}
