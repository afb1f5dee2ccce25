using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Ordering of snapshots and pushes from the route directory.</summary>
[Trait("Category", "Unit")]
public sealed class RouteTableTests
{
    static readonly Guid Epoch = Guid.NewGuid();

    static RouteTable Table(GatewayIdentity? identity = null) =>
        new(Options.Create(new InferenceOptions()), TimeProvider.System, identity ?? new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);

    static DeploymentRoute Route(string id, string model, long version, int instances = 1) =>
        new(id, model, DeploymentStatus.Running, 4, 1,
            Enumerable.Range(0, instances).Select(i => new RouteInstance($"{id}-{i}", $"http://127.0.0.1:{9000 + i}")).ToArray(), version);

    static RouteTableUpdate Snapshot(long seq, params DeploymentRoute[] routes) => new(Epoch, seq, true, routes, [], []);

    static RouteTableUpdate Push(long seq, DeploymentRoute? route = null, string? removed = null) =>
        new(Epoch, seq, false, route is null ? [] : [route], removed is null ? [] : [removed], null);

    [Fact]
    public void A_push_newer_than_a_late_snapshot_survives_it()
    {
        var table = Table();
        table.Apply(Snapshot(1, Route("d1", "alice/a", 1)));
        table.Apply(Push(2, Route("d1", "alice/a", 2, instances: 2)));
        table.Apply(Snapshot(1, Route("d1", "alice/a", 1))); // built before the push, arrived after
        Assert.Equal(2, table.Find("alice/a")!.Instances.Count);
        Assert.True(table.Ready.IsCompleted);
    }

    [Fact]
    public void A_removal_is_not_undone_by_an_older_snapshot_and_a_missed_removal_is_healed_by_a_newer_one()
    {
        var table = Table();
        table.Apply(Snapshot(2, Route("d1", "alice/a", 1), Route("d2", "alice/b", 2)));
        table.Apply(Push(3, removed: "d1"));
        table.Apply(Snapshot(2, Route("d1", "alice/a", 1), Route("d2", "alice/b", 2)));
        Assert.Null(table.Find("alice/a"));

        // d2's removal push was lost: the next snapshot (seq 4, without d2) removes it.
        table.Apply(Snapshot(4));
        Assert.Null(table.Find("alice/b"));
    }

    [Fact]
    public void A_push_from_another_directory_epoch_asks_for_a_snapshot()
    {
        var table = Table();
        table.Apply(Snapshot(1, Route("d1", "alice/a", 1)));
        Assert.False(table.Apply(new RouteTableUpdate(Guid.NewGuid(), 1, false, [Route("d1", "alice/a", 1, 3)], [], null)));
        Assert.Single(table.Find("alice/a")!.Instances);
    }

    [Fact]
    public void The_live_gateway_list_sets_this_gateways_share()
    {
        var me = new GatewayIdentity();
        var table = Table(me);
        table.Apply(new RouteTableUpdate(Epoch, 1, true, [Route("d1", "alice/a", 1, instances: 2)], [], [me.Id]));
        Assert.All(table.Find("alice/a")!.Instances, s => Assert.Equal(4, s.Capacity));
        table.Apply(new RouteTableUpdate(Epoch, 1, false, [], [], ["a-other", me.Id]));
        Assert.All(table.Find("alice/a")!.Instances, s => Assert.Equal(2, s.Capacity));
    }
}
