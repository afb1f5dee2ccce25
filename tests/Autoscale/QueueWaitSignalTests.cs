using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Grains.Deployments;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>The queue-wait signal: a lane knows how long its oldest queued request has waited, and the deployment
/// keeps the longest of its gateways' reports that still have a queue.</summary>
[Trait("Category", "Unit")]
public sealed class QueueWaitSignalTests
{
    [Fact]
    public async Task A_lane_reports_the_age_of_its_oldest_queued_request()
    {
        var time = new FakeTimeProvider();
        var route = new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 1, 0, [new RouteInstance("d1-0", "http://127.0.0.1:9000")], 1);
        var lane = new DeploymentLane(route, new InferenceOptions(), time, _ => { });
        lane.Update(route, 0, 1);
        var lease = (await lane.AcquireAsync(false, default)).Lease!;
        Assert.Equal(TimeSpan.Zero, lane.OldestWait); // in flight, nothing queued

        var first = lane.AcquireAsync(false, default);
        time.Advance(TimeSpan.FromMilliseconds(300));
        var second = lane.AcquireAsync(false, default);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(500), lane.OldestWait);

        lease.Release(); // the first queued request gets the slot: the second is now the oldest
        var next = (await first).Lease!;
        Assert.Equal(TimeSpan.FromMilliseconds(200), lane.OldestWait);
        next.Release();
        (await second).Lease!.Release();
        Assert.Equal(TimeSpan.Zero, lane.OldestWait);
    }

    [Fact]
    public void The_deployment_keeps_the_longest_wait_of_its_gateways_with_a_queue()
    {
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var demand = new InstanceDemand(new AutoscalerOptions());
        demand.Report(new GatewayLoad("g1", 4, 2, 0, LoadTrigger.GatewayQueue, TimeSpan.FromMilliseconds(150)), t0);
        demand.Report(new GatewayLoad("g2", 4, 1, 0, LoadTrigger.GatewayQueue, TimeSpan.FromMilliseconds(40)), t0);
        Assert.Equal(TimeSpan.FromMilliseconds(150), demand.OldestWait(t0));

        // g1's queue drained; a report without a queue carries no wait, whatever it says.
        demand.Report(new GatewayLoad("g1", 4, 0, 0, LoadTrigger.PeriodicReport, TimeSpan.FromSeconds(9)), t0 + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(40), demand.OldestWait(t0 + TimeSpan.FromSeconds(1)));

        // A report older than its time to live counts no more.
        Assert.Equal(TimeSpan.Zero, demand.OldestWait(t0 + InstanceDemand.ReportTtl + TimeSpan.FromSeconds(1)));
    }
}
