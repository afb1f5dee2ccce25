using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>When a gateway's lane signals load pressure (the cue of an immediate load report): at the crossing of the
/// threshold of its slots and whenever a request queues, never for every request.</summary>
[Trait("Category", "Unit")]
public sealed class LanePressureTests
{
    [Fact]
    public async Task A_lane_signals_when_in_flight_reaches_the_threshold_and_when_requests_queue()
    {
        var route = new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 5, 0,
            [new RouteInstance("d1-0", "http://127.0.0.1:9000"), new RouteInstance("d1-1", "http://127.0.0.1:9001")], 1);
        var signals = new List<(int InFlight, int Waiting)>();
        var lane = new DeploymentLane(route, new InferenceOptions { LoadPressureThreshold = 0.8 }, new FakeTimeProvider(), _ => { })
        {
            Pressure = l => signals.Add((l.InFlight, l.Waiting)),
        };
        lane.Update(route, 0, 1);

        // 10 slots: the 8th request in flight crosses 80 %; the 9th and 10th do not signal again.
        var leases = new List<SlotLease>();
        for (var i = 0; i < 10; i++)
        {
            leases.Add((await lane.AcquireAsync(false, default)).Lease!);
        }

        Assert.Equal([(8, 0)], signals);

        // Every slot taken: each request that queues signals (the reporter coalesces them).
        var queued = new[] { lane.AcquireAsync(false, default), lane.AcquireAsync(false, default) };
        Assert.Equal([(8, 0), (10, 1), (10, 2)], signals);

        // Below the threshold and back up: a new crossing.
        foreach (var lease in leases.Take(5))
        {
            lease.Release();
        }

        foreach (var pending in queued)
        {
            leases.Add((await pending).Lease!);
        }

        Assert.Equal(7, lane.InFlight);
        await lane.AcquireAsync(false, default);
        Assert.Equal((8, 0), signals[^1]);
        Assert.Equal(4, signals.Count);
    }
}
