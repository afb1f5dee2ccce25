using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Placement;

/// <summary>The registry's holds: concurrent placements get different first candidates while the node that was handed
/// out has not shown the GPUs taken, and the hold ends with that node's push (after the start, whatever its answer) or after
/// <see cref="PlacementHolds.HoldFor"/>.</summary>
[Trait("Category", "Unit")]
public sealed class PlacementHoldsTests
{
    const string Gpu = "H100-80GB";

    readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    static NodeCapacity Node(string name, int free) =>
        new(name, true, new Dictionary<string, int> { [Gpu] = 8 }, new Dictionary<string, int> { [Gpu] = free }, null);

    [Fact]
    public void Two_concurrent_placements_on_a_node_with_room_for_one_get_different_first_candidates()
    {
        var holds = new PlacementHolds(_time);
        NodeCapacity[] view = [Node("tight", 1), Node("roomy", 8)];

        Assert.Equal(["tight", "roomy"], holds.Rank(view, Gpu, 1));
        Assert.Equal(["roomy"], holds.Rank(view, Gpu, 1));
        Assert.Equal(2, holds.HeldGpus);
    }

    /// <summary>Session 10 held only the first candidate: the second caller here got "b" first, which the first caller's
    /// second instance was about to take.</summary>
    [Fact]
    public void A_placement_of_several_instances_holds_a_candidate_for_each()
    {
        var holds = new PlacementHolds(_time);
        NodeCapacity[] view = [Node("a", 1), Node("b", 1), Node("c", 8)];

        Assert.Equal(["a", "b", "c"], holds.Rank(view, Gpu, 1, instances: 2));
        Assert.Equal(2, holds.HeldGpus);
        Assert.Equal(["c"], holds.Rank(view, Gpu, 1));
    }

    [Fact]
    public void Instances_given_round_the_candidates_hold_a_node_only_while_it_has_room()
    {
        var holds = new PlacementHolds(_time);
        Assert.Equal(["n"], holds.Rank([Node("n", 6)], Gpu, 4, instances: 3));
        Assert.Equal(4, holds.HeldGpus);

        Assert.Equal(["m", "n"], holds.Rank([Node("m", 4), Node("n", 8)], Gpu, 2, instances: 3));
        Assert.Equal(4 + 6, holds.HeldGpus);
    }

    [Fact]
    public void Without_holds_both_would_get_the_same_node()
    {
        NodeCapacity[] view = [Node("tight", 1), Node("roomy", 8)];
        Assert.Equal(PlacementPolicy.Rank(view, Gpu, 1)[0], PlacementPolicy.Rank(view, Gpu, 1)[0]);
    }

    [Fact]
    public void A_hold_ends_after_hold_for_without_a_push()
    {
        var holds = new PlacementHolds(_time);
        NodeCapacity[] view = [Node("tight", 1), Node("roomy", 8)];
        holds.Rank(view, Gpu, 1);

        _time.Advance(PlacementHolds.HoldFor - TimeSpan.FromMilliseconds(1));
        Assert.Equal("roomy", holds.Rank(view, Gpu, 1)[0]);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, holds.HeldGpus);
        Assert.Equal("tight", holds.Rank([Node("tight", 1)], Gpu, 1)[0]);
    }

    /// <summary>Session 12 held 5 s: at 1,000 nodes the start came later than that (ranking p50 8.9 s old at a
    /// refusal), the hold was gone and another placement got the same node.</summary>
    [Fact]
    public void A_hold_outlasts_a_slow_start_until_the_node_pushes()
    {
        var holds = new PlacementHolds(_time);
        NodeCapacity[] view = [Node("tight", 1), Node("roomy", 8)];
        holds.Rank(view, Gpu, 1);

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("roomy", holds.Rank(view, Gpu, 1)[0]);
        holds.Pushed(view[0], Node("tight", 0));
        Assert.Equal(1, holds.HeldGpus);
    }

    /// <summary>A refused start takes nothing, so its node's push (<c>GpuNode.StartInstance</c> pushes on a refusal too)
    /// shows no drop; the hold goes because the node has fewer free GPUs than are held there.</summary>
    [Fact]
    public void A_push_releases_the_holds_beyond_the_node_s_free_gpus_newest_first()
    {
        var holds = new PlacementHolds(_time);
        var before = Node("n", 4);
        holds.Rank([before], Gpu, 2);
        holds.Rank([before], Gpu, 2);
        Assert.Equal(4, holds.HeldGpus);

        // Another caller took 1 GPU without a hold: the drop covers no 2-GPU hold, but only one of the two still fits, so
        // the newer one's start will be refused.
        holds.Pushed(before, Node("n", 3));
        Assert.Equal(2, holds.HeldGpus);
        Assert.Equal(["n"], holds.Rank([Node("n", 3)], Gpu, 1));

        // A push that changed nothing (a refused start's) keeps the holds that fit.
        holds.Pushed(Node("n", 3), Node("n", 3));
        Assert.Equal(3, holds.HeldGpus);
    }

    [Fact]
    public void The_node_s_push_releases_the_holds_its_drop_in_free_gpus_covers_oldest_first()
    {
        var holds = new PlacementHolds(_time);
        var before = Node("n", 8);
        holds.Rank([before], Gpu, 2);
        holds.Rank([before], Gpu, 4);
        Assert.Equal(6, holds.HeldGpus);

        // An unrelated push (nothing taken yet) keeps both; the first start's push releases only the first.
        holds.Pushed(before, Node("n", 8));
        Assert.Equal(6, holds.HeldGpus);
        holds.Pushed(before, Node("n", 6));
        Assert.Equal(4, holds.HeldGpus);
        var now = Node("n", 6);
        Assert.Equal(["n"], holds.Rank([now], Gpu, 2));
        Assert.Empty(holds.Rank([now], Gpu, 1));
    }

    [Fact]
    public void Holds_never_change_the_capacity_they_rank()
    {
        var holds = new PlacementHolds(_time);
        var node = Node("n", 8);
        holds.Rank([node], Gpu, 8);
        Assert.Equal(8, node.Free[Gpu]);
        Assert.Empty(holds.Rank([node], Gpu, 1));
    }
}
