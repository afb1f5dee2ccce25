using DeepDeploy.Contracts.Capacity;
using DeepDeploy.Grains.Capacity;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>The capacity arbiter's fairness rule: free GPUs go to the waiting deployment whose owner holds the fewest
/// GPUs of the type, ties by the longest wait; a large instance keeps what frees up; grants expire.</summary>
[Trait("Category", "Unit")]
public sealed class FairShareLedgerTests
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    readonly FairShareLedger _ledger = new("H100");

    CapacityGrant Ask(string deployId, string owner, int instances, int wanted, int gpus = 1, (int Free, int Total)[]? nodes = null)
    {
        _ledger.Record(new CapacityClaim(deployId, owner, gpus, instances, instances, wanted), _clock.GetUtcNow());
        return _ledger.Grant(deployId, nodes ?? [(0, 8)], _clock.GetUtcNow());
    }

    [Fact]
    public void Freed_GPUs_go_to_the_owner_holding_fewer_even_when_another_asks_first()
    {
        Ask("a1", "alice", instances: 6, wanted: 8);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Ask("b1", "bob", instances: 2, wanted: 4);

        // Two GPUs free up; alice asks first but holds 6, bob 2: both go to bob.
        var alice = Ask("a1", "alice", instances: 6, wanted: 8, nodes: [(2, 8)]);
        Assert.Equal(0, alice.Instances);
        Assert.Equal(1, alice.Ahead);
        Assert.Contains("1 deployment(s) ahead", alice.Reason);
        Assert.DoesNotContain("bob", alice.Reason);
        Assert.Equal(2, Ask("b1", "bob", instances: 2, wanted: 4, nodes: [(2, 8)]).Instances);
    }

    [Fact]
    public void Equal_shares_take_turns_starting_with_the_longest_waiting()
    {
        Ask("b1", "bob", instances: 0, wanted: 2);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Ask("c1", "carol", instances: 0, wanted: 2);

        // Three free: bob (longer waiting), carol, then bob again (tie at 1, bob waited longer); carol is next.
        Assert.Equal(1, Ask("c1", "carol", instances: 0, wanted: 2, nodes: [(3, 8)]).Instances);
        var queue = _ledger.Queue(_clock.GetUtcNow());
        Assert.Equal(["c1", "b1"], queue.Select(w => w.DeployId));
        Assert.Equal([1, 2], queue.Select(w => w.Granted));
        Assert.Equal([1, 2], queue.Select(w => w.OwnerGpus));
    }

    [Fact]
    public void An_owner_s_share_counts_all_its_deployments_of_the_type()
    {
        Ask("a1", "alice", instances: 3, wanted: 3);
        Ask("a2", "alice", instances: 0, wanted: 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Ask("b1", "bob", instances: 1, wanted: 2);

        // alice's new deployment waited longer, but alice holds 3 to bob's 1.
        Assert.Equal(0, Ask("a2", "alice", instances: 0, wanted: 1, nodes: [(1, 8)]).Instances);
        Assert.Equal(1, Ask("b1", "bob", instances: 1, wanted: 2, nodes: [(1, 8)]).Instances);
    }

    [Fact]
    public void A_large_instance_first_in_line_keeps_the_node_closest_to_fitting_it_from_owners_holding_more()
    {
        Ask("a1", "alice", instances: 6, wanted: 8);
        Ask("b1", "bob", instances: 0, wanted: 1, gpus: 4);

        // bob (holding none) waits for four on one node: the node with three free is kept for him; alice may fill the other.
        Assert.Equal(1, Ask("a1", "alice", instances: 6, wanted: 8, nodes: [(3, 8), (1, 8)]).Instances);
        Assert.Equal(0, Ask("a1", "alice", instances: 7, wanted: 8, nodes: [(3, 8), (0, 8)]).Instances);
        var bob = Ask("b1", "bob", instances: 0, wanted: 1, gpus: 4, nodes: [(3, 8), (0, 8)]);
        Assert.Equal(0, bob.Instances);
        Assert.Equal("waiting for 4 free H100 GPUs on one node; next in line", bob.Reason);
        Assert.Equal(1, Ask("b1", "bob", instances: 0, wanted: 1, gpus: 4, nodes: [(4, 8), (0, 8)]).Instances);
    }

    [Fact]
    public void The_same_owner_s_smaller_instances_may_use_the_node_kept_for_its_large_one()
    {
        Ask("p1", "paul", instances: 0, wanted: 1, gpus: 8);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, Ask("p2", "paul", instances: 0, wanted: 1, gpus: 2, nodes: [(3, 8)]).Instances);
    }

    [Fact]
    public void A_grant_not_used_in_time_goes_back_and_a_silent_waiter_leaves_the_line()
    {
        Ask("b1", "bob", instances: 0, wanted: 1);
        Ask("a1", "alice", instances: 4, wanted: 5);
        Assert.Equal(0, Ask("a1", "alice", instances: 4, wanted: 5, nodes: [(1, 8)]).Instances); // held for bob

        _clock.Advance(FairShareLedger.GrantTtl + TimeSpan.FromSeconds(1));
        Assert.Equal(0, Ask("a1", "alice", instances: 4, wanted: 5, nodes: [(1, 8)]).Instances); // bob still waits: granted again

        _clock.Advance(FairShareLedger.WaiterTtl + TimeSpan.FromSeconds(1));
        Assert.Equal(1, Ask("a1", "alice", instances: 4, wanted: 5, nodes: [(1, 8)]).Instances);
    }

    [Fact]
    public void An_instance_no_node_could_hold_is_let_through_so_placement_reports_it()
    {
        Assert.Equal(1, Ask("b1", "bob", instances: 0, wanted: 1, gpus: 16, nodes: [(8, 8)]).Instances);
        Assert.Equal(1, Ask("c1", "carol", instances: 0, wanted: 1, nodes: []).Instances); // no node of the type joined yet
    }

    [Fact]
    public void A_deployment_that_is_gone_leaves_the_pool()
    {
        Ask("a1", "alice", instances: 8, wanted: 8);
        Ask("b1", "bob", instances: 0, wanted: 1);
        _ledger.Record(new CapacityClaim("a1", "alice", 1, 0, 0, 0), _clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Ask("a2", "alice", instances: 0, wanted: 1);

        // alice holds nothing any more: she and bob are even, bob waited longer.
        Assert.Equal(["b1", "a2"], _ledger.Queue(_clock.GetUtcNow()).Select(w => w.DeployId));
        Assert.Equal(0, _ledger.Queue(_clock.GetUtcNow())[1].OwnerGpus);
    }

    [Fact]
    public void A_grant_for_a_claim_withdrawn_or_never_made_grants_nothing_and_keeps_the_line()
    {
        Ask("b1", "bob", instances: 0, wanted: 1);

        // The arbiter is reentrant: a1's withdrawal may land while its earlier claim waits for the registry's view.
        _ledger.Record(new CapacityClaim("a1", "alice", 1, 0, 0, 0), _clock.GetUtcNow());
        Assert.Equal(CapacityGrant.None, _ledger.Grant("a1", [(1, 8)], _clock.GetUtcNow()));
        Assert.Equal(CapacityGrant.None, _ledger.Grant("never-seen", [(1, 8)], _clock.GetUtcNow()));
        Assert.Equal(["b1"], _ledger.Queue(_clock.GetUtcNow()).Select(w => w.DeployId));
        Assert.Equal(1, Ask("b1", "bob", instances: 0, wanted: 1, nodes: [(1, 8)]).Instances);
    }
}
