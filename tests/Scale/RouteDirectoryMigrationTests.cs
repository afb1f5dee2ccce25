using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Routing;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DeepDeploy.Tests.Scale;

/// <summary>
/// A cluster upgraded from the single route directory: its saved table (grain 0, state "routes") is split among the
/// shards on their first activation, so gateways keep every route, each from the shard that now owns it.
/// </summary>
public sealed class RouteDirectoryMigrationTests
{
    [Fact]
    public async Task The_single_directorys_saved_routes_are_taken_by_their_shards()
    {
        await using var sim = await SimulatedCluster.StartAsync(1);
        var storage = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        var routes = Enumerable.Range(0, 50).Select(i => new DeploymentRoute($"d{i:D3}", $"alice/m{i}", DeploymentStatus.Running, 4, 1,
            new[] { new RouteInstance($"d{i:D3}-0", $"http://127.0.0.1:{20000 + i}", "secret") }, Version: 100 + i)).ToArray();
        var single = new RouteDirectoryState { Epoch = Guid.NewGuid(), Seq = 150, Routes = routes.ToDictionary(r => r.DeployId) };
        await storage.WriteStateAsync("routes", sim.Grains.GetGrain<IRouteDirectoryGrain>(0).GetGrainId(), new GrainState<RouteDirectoryState>(single));
        Assert.True(routes.Select(r => RouteShards.Of(r.DeployId)).Distinct().Count() > 1, "the sample must span shards");

        var watcher = new RouteWatcher("gw-migration");
        var observer = sim.Grains.CreateObjectReference<IRouteObserver>(watcher);
        var snapshots = await Task.WhenAll(Enumerable.Range(0, RouteShards.Count).Select(s => sim.Grains.GetGrain<IRouteDirectoryGrain>(s).Subscribe(watcher.Id, observer)));

        Assert.All(snapshots, s => Assert.All(s.Routes, r => Assert.Equal(s.Shard, RouteShards.Of(r.DeployId))));
        Assert.All(snapshots, s => Assert.Equal(RouteShards.Count, s.Shards));
        var taken = snapshots.SelectMany(s => s.Routes).OrderBy(r => r.DeployId, StringComparer.Ordinal).ToArray();
        Assert.Equal(routes.Length, taken.Length);
        Assert.All(routes.Zip(taken), pair => Assert.True(pair.First.SameContent(pair.Second), pair.First.DeployId));

        // The shard owns the route from now on: a removal sticks, and the single table is left as it was.
        var removed = routes[7];
        await sim.Grains.GetGrain<IRouteDirectoryGrain>(RouteShards.Of(removed.DeployId)).Publish(removed with { Status = DeploymentStatus.Deleted });
        var after = await sim.Grains.GetGrain<IRouteDirectoryGrain>(RouteShards.Of(removed.DeployId)).Subscribe(watcher.Id, observer);
        Assert.DoesNotContain(after.Routes, r => r.DeployId == removed.DeployId);
        var left = new GrainState<RouteDirectoryState>(new RouteDirectoryState());
        await storage.ReadStateAsync("routes", sim.Grains.GetGrain<IRouteDirectoryGrain>(0).GetGrainId(), left);
        Assert.Equal(routes.Length, left.State!.Routes.Count);

        // A route published to a shard that does not own it is refused.
        var stranger = routes.First(r => RouteShards.Of(r.DeployId) != 0);
        await Assert.ThrowsAsync<ArgumentException>(() => sim.Grains.GetGrain<IRouteDirectoryGrain>(0).Publish(stranger));
        sim.Grains.DeleteObjectReference<IRouteObserver>(observer);
    }
}
