using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>A queue building up at a gateway reaches the deployment as an event, not with the periodic report.</summary>
[Collection(SystemCollection.Name)]
public sealed class GatewayQueueEventTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_queue_building_up_at_the_gateway_triggers_the_scale_decision_at_once()
    {
        // The periodic report is 10 minutes away: only the queue's immediate report can explain a decision now.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 20, QueueReaction.Settings(immediate: true));
        var (decision, delay) = await QueueReaction.MeasureAsync(system, "quentin", "queued");

        output.WriteLine($"queue build-up → scale decision: {delay.TotalMilliseconds:F0} ms ({decision.Message})");
        Assert.Equal(ScaleTrigger.GatewayQueue, decision.Trigger);
        Assert.Equal("load", decision.Reason);
        Assert.Equal(3, decision.Load);
        Assert.Matches(@"load 3, 1 waiting up to \d+ ms, trigger gateway_queue", decision.Message); // the queue-wait signal, end to end
    }
}
