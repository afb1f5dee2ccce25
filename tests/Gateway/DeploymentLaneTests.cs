using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Admission and routing of one deployment in one gateway, without any I/O; deadlines and cooldowns run on a
/// fake clock.</summary>
[Trait("Category", "Unit")]
public sealed class DeploymentLaneTests
{
    readonly FakeTimeProvider _clock = new();

    static DeploymentRoute Route(int maxBatchSize, int instances, DeploymentStatus status = DeploymentStatus.Running) =>
        new("d1", "alice/m", status, maxBatchSize, 0,
            Enumerable.Range(0, instances).Select(i => new RouteInstance($"d1-{i}", $"http://127.0.0.1:{9000 + i}")).ToArray(), 1);

    (DeploymentLane Lane, List<string> Woken) Lane(DeploymentRoute route, InferenceOptions? options = null)
    {
        var woken = new List<string>();
        var lane = new DeploymentLane(route, options ?? new InferenceOptions(), _clock, l => { lock (woken) woken.Add(l.DeployId); });
        lane.Update(route, 0, 1);
        return (lane, woken);
    }

    static async Task<SlotLease> Granted(ValueTask<Admission> pending)
    {
        var admission = await pending;
        Assert.Equal(AdmissionOutcome.Granted, admission.Outcome);
        return admission.Lease!;
    }

    [Fact]
    public async Task Picks_the_least_loaded_instance_and_never_exceeds_max_batch_size()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 4, instances: 2));
        var leases = new List<SlotLease>();
        for (var i = 0; i < 8; i++)
        {
            leases.Add(await Granted(lane.AcquireAsync(false, default)));
            var counts = lane.Instances.Select(s => s.InFlight).ToArray();
            Assert.True(Math.Abs(counts[0] - counts[1]) <= 1, $"uneven: {string.Join(",", counts)}");
        }

        Assert.All(lane.Instances, s => Assert.Equal(4, s.InFlight));
        var ninth = lane.AcquireAsync(false, default);
        Assert.False(ninth.IsCompleted); // queued: every slot is taken
        Assert.Equal(1, lane.Waiting);

        var freed = leases[3];
        freed.Release();
        var next = await Granted(ninth);
        Assert.Same(freed.Slot, next.Slot); // the freed slot goes to the head of the queue
        Assert.All(lane.Instances, s => Assert.Equal(4, s.InFlight));
        Assert.Equal(8, lane.InFlight);
    }

    [Fact]
    public async Task Ties_are_broken_at_random()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 1, instances: 4));
        var firstPicks = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            var lease = await Granted(lane.AcquireAsync(false, default));
            firstPicks.Add(lease.Slot.InstanceId);
            lease.Release();
        }

        Assert.Equal(4, firstPicks.Count);
    }

    [Fact]
    public async Task Each_lease_counts_its_max_tokens_on_its_instance_until_released_also_through_the_queue()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 2, instances: 2));
        var policy = RoutingPolicies.LeastLoaded;
        var long_ = await Granted(lane.AcquireAsync(policy, default, retry: false, default, tokens: 100));
        var short1 = await Granted(lane.AcquireAsync(policy, default, retry: false, default, tokens: 4));
        Assert.NotSame(long_.Slot, short1.Slot);

        // Each instance has one slot left: the short request goes beside the short one, not the long one.
        var short2 = await Granted(lane.AcquireAsync(policy, default, retry: false, default, tokens: 4));
        Assert.Same(short1.Slot, short2.Slot);
        Assert.Equal(8, short1.Slot.OutstandingTokens);
        var filler = await Granted(lane.AcquireAsync(policy, default, retry: false, default, tokens: 4));
        Assert.Same(long_.Slot, filler.Slot);
        Assert.Equal(104, long_.Slot.OutstandingTokens);

        var queued = lane.AcquireAsync(policy, default, retry: false, default, tokens: 7);
        Assert.False(queued.IsCompleted);
        short1.Release();
        var fromQueue = await Granted(queued);
        Assert.Same(short1.Slot, fromQueue.Slot);
        Assert.Equal(11, short1.Slot.OutstandingTokens);

        foreach (var lease in new[] { long_, short2, filler, fromQueue })
        {
            lease.Release();
        }

        Assert.All(lane.Instances, i => Assert.Equal(0, i.OutstandingTokens));
    }

    [Fact]
    public async Task The_queue_is_FIFO_bounded_and_has_a_deadline()
    {
        var options = new InferenceOptions { QueueCapacity = 2, QueueTimeout = TimeSpan.FromSeconds(1) };
        var (lane, _) = Lane(Route(maxBatchSize: 1, instances: 1), options);
        var held = await Granted(lane.AcquireAsync(false, default));
        var first = lane.AcquireAsync(false, default);
        var second = lane.AcquireAsync(false, default);
        Assert.Equal(AdmissionOutcome.QueueFull, (await lane.AcquireAsync(false, default)).Outcome);

        held.Release();
        var lease = await Granted(first); // FIFO: the first waiter gets the slot
        _clock.Advance(options.QueueTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(second.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(AdmissionOutcome.QueueTimeout, (await second).Outcome);
        Assert.Equal(0, lane.Waiting);
        lease.Release();
        Assert.Equal(0, lane.InFlight);
        Assert.Equal(2, lane.Refused);
    }

    [Fact]
    public async Task The_ceiling_counts_in_flight_and_waiting_and_answers_rate_limited()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 2, instances: 1), new InferenceOptions { MaxConcurrentRequests = 3 });
        await Granted(lane.AcquireAsync(false, default));
        await Granted(lane.AcquireAsync(false, default));
        _ = lane.AcquireAsync(false, default);
        Assert.Equal(AdmissionOutcome.RateLimited, (await lane.AcquireAsync(false, default)).Outcome);
    }

    [Fact]
    public async Task A_waiter_that_goes_away_leaves_the_queue()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 1, instances: 1));
        var held = await Granted(lane.AcquireAsync(false, default));
        using var cts = new CancellationTokenSource();
        var waiting = lane.AcquireAsync(false, cts.Token);
        await cts.CancelAsync();
        Assert.Equal(AdmissionOutcome.Cancelled, (await waiting).Outcome);
        Assert.Equal(0, lane.Waiting);
        held.Release();
        Assert.Equal(0, lane.InFlight);
    }

    [Fact]
    public async Task Without_instances_requests_are_held_the_deployment_is_woken_and_served_when_one_appears()
    {
        var (lane, woken) = Lane(Route(maxBatchSize: 2, instances: 0));
        var held = Enumerable.Range(0, 3).Select(_ => lane.AcquireAsync(false, default).AsTask()).ToList();
        Assert.All(held, h => Assert.False(h.IsCompleted));
        Assert.Equal(["d1"], woken); // once, not per request

        lane.Update(Route(maxBatchSize: 2, instances: 1), 0, 1);
        var first = await Granted(new ValueTask<Admission>(held[0]));
        await Granted(new ValueTask<Admission>(held[1]));
        Assert.False(held[2].IsCompleted);
        first.Release();
        await Granted(new ValueTask<Admission>(held[2]));
    }

    [Fact]
    public async Task Held_requests_time_out_after_the_cold_start_timeout_not_the_queue_timeout()
    {
        var options = new InferenceOptions { QueueTimeout = TimeSpan.FromMilliseconds(100), ColdStartTimeout = TimeSpan.FromMilliseconds(600) };
        var (lane, _) = Lane(Route(maxBatchSize: 2, instances: 0), options);
        var admission = lane.AcquireAsync(false, default);
        _clock.Advance(options.QueueTimeout);
        Assert.False(admission.IsCompleted);
        _clock.Advance(options.ColdStartTimeout - options.QueueTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(admission.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(AdmissionOutcome.ColdStartTimeout, (await admission).Outcome);
    }

    [Fact]
    public async Task A_failed_or_deleted_deployment_answers_unavailable_and_releases_its_waiters()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 1, instances: 0));
        var held = lane.AcquireAsync(false, default);
        lane.Update(Route(1, 0, DeploymentStatus.Failed), 0, 1);
        Assert.Equal(AdmissionOutcome.Unavailable, (await held).Outcome);
        Assert.Equal(AdmissionOutcome.Unavailable, (await lane.AcquireAsync(false, default)).Outcome);
    }

    [Fact]
    public async Task An_excluded_instance_is_skipped_until_its_cooldown_ends()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 4, instances: 2));
        var lease = await Granted(lane.AcquireAsync(false, default));
        var bad = lease.Slot;
        lease.Release();
        var cooldown = new InferenceOptions().UnhealthyCooldown;
        lane.Exclude(bad, cooldown);
        for (var i = 0; i < 4; i++)
        {
            Assert.NotSame(bad, (await Granted(lane.AcquireAsync(false, default))).Slot);
        }

        // The other instance is full now; the next request waits for the cooldown and then gets the excluded one.
        var next = lane.AcquireAsync(false, default);
        _clock.Advance(cooldown - TimeSpan.FromMilliseconds(1));
        Assert.False(next.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Same(bad, (await Granted(next)).Slot);
    }

    [Fact]
    public async Task A_busy_instance_gets_no_more_than_it_holds_until_the_busy_backoff_ends()
    {
        var (lane, _) = Lane(Route(maxBatchSize: 4, instances: 1));
        var leases = new List<SlotLease>();
        for (var i = 0; i < 3; i++)
        {
            leases.Add(await Granted(lane.AcquireAsync(false, default)));
        }

        // The third request was refused as busy: the instance is capped at the two others while it holds the third.
        lane.Saturated(leases[2].Slot, InferenceForwarder.BusyBackoff);
        leases[2].Release();
        var retry = lane.AcquireAsync(false, default);
        _clock.Advance(InferenceForwarder.BusyBackoff - TimeSpan.FromMilliseconds(1));
        Assert.False(retry.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(2));
        await Granted(retry);
        Assert.Equal(3, lane.InFlight);
    }

    [Fact]
    public async Task A_second_gateway_halves_this_gateways_share_of_each_instance()
    {
        var route = Route(maxBatchSize: 4, instances: 2);
        var (lane, _) = Lane(route);
        lane.Update(route, gatewayRank: 1, gatewayCount: 2);
        Assert.All(lane.Instances, s => Assert.Equal(2, s.Capacity));
        for (var i = 0; i < 4; i++)
        {
            await Granted(lane.AcquireAsync(false, default));
        }

        Assert.False(lane.AcquireAsync(false, default).IsCompleted);
    }
}
