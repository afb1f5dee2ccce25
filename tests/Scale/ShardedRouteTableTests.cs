using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Scale;

/// <summary>A gateway's route table fed by several directory shards: each shard's epoch, sequence and snapshot
/// concern only its own deployments.</summary>
[Trait("Category", "Unit")]
public sealed class ShardedRouteTableTests
{
    static readonly Guid[] Epochs = [Guid.NewGuid(), Guid.NewGuid()];

    static RouteTable Table() =>
        new(Options.Create(new InferenceOptions()), TimeProvider.System, new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);

    static DeploymentRoute Route(string id, long version, int instances = 1) =>
        new(id, $"alice/{id}", DeploymentStatus.Running, 4, 1,
            Enumerable.Range(0, instances).Select(i => new RouteInstance($"{id}-{i}", $"http://127.0.0.1:{9000 + i}")).ToArray(), version);

    static RouteTableUpdate Snapshot(int shard, long seq, params DeploymentRoute[] routes) => new(Epochs[shard], seq, true, routes, [], [], shard, 2);

    [Fact]
    public void Ready_waits_for_every_shard_and_one_shards_snapshot_leaves_the_others_routes()
    {
        var table = Table();
        table.Apply(Snapshot(0, 5, Route("a", 5)));
        Assert.False(table.Ready.IsCompleted);

        // Shard 1's sequence is far behind shard 0's: its snapshot must not drop "a".
        table.Apply(Snapshot(1, 1, Route("b", 1)));
        Assert.True(table.Ready.IsCompleted);
        Assert.NotNull(table.Find("alice/a"));
        Assert.NotNull(table.Find("alice/b"));

        // A push of shard 1 at its own (lower) sequence is applied, and a later snapshot of shard 1 without "b" removes only "b".
        table.Apply(new RouteTableUpdate(Epochs[1], 2, false, [Route("b", 2, instances: 3)], [], null, 1, 2));
        Assert.Equal(3, table.Find("alice/b")!.Instances.Count);
        table.Apply(Snapshot(1, 3));
        Assert.Null(table.Find("alice/b"));
        Assert.NotNull(table.Find("alice/a"));
    }

    [Fact]
    public void A_new_epoch_of_one_shard_replaces_only_that_shards_routes()
    {
        var table = Table();
        table.Apply(Snapshot(0, 9, Route("a", 9, instances: 2)));
        table.Apply(Snapshot(1, 9, Route("b", 9, instances: 2)));

        // Shard 1 lost its history (new epoch, sequence restarted): its lower versions win for its own routes only.
        Assert.False(table.Apply(new RouteTableUpdate(Guid.NewGuid(), 1, false, [Route("b", 1)], [], null, 1, 2)));
        var epoch = Guid.NewGuid();
        table.Apply(new RouteTableUpdate(epoch, 1, true, [Route("b", 1)], [], [], 1, 2));
        Assert.Single(table.Find("alice/b")!.Instances);
        Assert.Equal(2, table.Find("alice/a")!.Instances.Count);
        table.Apply(Snapshot(0, 8, Route("a", 8)));
        Assert.Equal(2, table.Find("alice/a")!.Instances.Count);
    }
}
