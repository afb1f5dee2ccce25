using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace DeepDeploy.Tests.Events;

/// <summary>The event-log grains on a simulated cluster: bounds, paging, the cluster feed, events of the control loop.</summary>
public sealed class EventLogTests
{
    [Fact]
    public async Task The_history_keeps_the_last_500_events_pages_by_sequence_and_feeds_the_cluster_log()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        var deployId = DeploymentIds.New();
        var log = sim.Grains.GetGrain<IEventLogGrain>(deployId);
        var t0 = DateTimeOffset.UtcNow;
        for (var batch = 0; batch < 6; batch++)
        {
            await log.Append(Enumerable.Range(batch * 100, 100)
                .Select(i => new DeploymentEvent(0, t0.AddSeconds(i), DeploymentEventKind.InstancePhase, deployId, $"event {i}"))
                .ToArray());
        }

        var newest = await log.Read(null, 10);
        Assert.Equal(600, newest.LastSequence);
        Assert.Equal(Enumerable.Range(591, 10).Select(i => (long)i), newest.Events.Select(e => e.Sequence));
        Assert.Equal("event 599", newest.Events[^1].Message);

        // The oldest 100 are gone; paging starts at the oldest kept.
        var oldest = await log.Read(0, 3);
        Assert.Equal([101L, 102L, 103L], oldest.Events.Select(e => e.Sequence));
        Assert.Equal("event 100", oldest.Events[0].Message);
        Assert.Equal([104L, 105L], (await log.Read(103, 2)).Events.Select(e => e.Sequence));
        Assert.Empty((await log.Read(600, 10)).Events);

        var feed = await sim.Grains.GetGrain<IEventLogGrain>(EventStreams.ClusterKey).Read(null, 500);
        Assert.Equal(600, feed.LastSequence);
        Assert.Equal(500, feed.Events.Count);
        Assert.All(feed.Events, e => Assert.Equal(deployId, e.DeployId));
    }

    [Fact]
    public async Task Concurrent_appends_share_writes_but_the_cluster_feed_numbers_and_publishes_them_in_order()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        var published = new List<DeploymentEvent>();
        // The test's client has no stream providers; a silo's own client has.
        var stream = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredService<IClusterClient>()
            .GetStreamProvider(EventStreams.Provider)
            .GetStream<DeploymentEvent>(StreamId.Create(EventStreams.Events, EventStreams.ClusterKey));
        var handle = await stream.SubscribeAsync((e, _) =>
        {
            lock (published)
            {
                published.Add(e);
            }

            return Task.CompletedTask;
        });

        // 40 deployments' logs forward 5 batches of 3 each, all at once: the feed's appends interleave.
        var t0 = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 40).Select(async d =>
        {
            var deployId = DeploymentIds.New();
            var log = sim.Grains.GetGrain<IEventLogGrain>(deployId);
            for (var batch = 0; batch < 5; batch++)
            {
                await log.Append(Enumerable.Range(batch * 3, 3)
                    .Select(i => new DeploymentEvent(0, t0.AddSeconds(i), DeploymentEventKind.InstancePhase, deployId, $"{d}:{i}")).ToArray());
            }
        }));

        var feed = await sim.Grains.GetGrain<IEventLogGrain>(EventStreams.ClusterKey).Read(0, 600);
        Assert.Equal(600, feed.LastSequence);
        Assert.Equal(Enumerable.Range(101, 500).Select(i => (long)i), feed.Events.Select(e => e.Sequence));
        // Each deployment's events keep their order in the feed.
        Assert.All(feed.Events.GroupBy(e => e.DeployId), g =>
            Assert.Equal(g.Select(e => int.Parse(e.Message.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).Order(),
                g.Select(e => int.Parse(e.Message.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture))));

        await Eventually.TrueAsync(() => { lock (published) { return published.Count == 600; } }, TimeSpan.FromSeconds(10), "every event published live");
        lock (published)
        {
            Assert.Equal(Enumerable.Range(1, 600).Select(i => (long)i), published.Select(e => e.Sequence));
        }

        await handle.UnsubscribeAsync();
    }

    [Fact]
    public async Task The_control_loop_reports_status_scaling_placement_phases_and_settings()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("ivy", gpuLimit: 8);
        var deployId = await sim.DeployAsync("ivy", "model", numGpus: 2, min: 1, max: 1);
        await sim.WaitForAsync(deployId, v => v.Status == DeploymentStatus.Running && v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(deployId);
        Assert.Null((await deployment.UpdateSettings(0, 3)).Error);

        var log = sim.Grains.GetGrain<IEventLogGrain>(deployId);
        var events = (await Eventually.MatchAsync(() => log.Read(0, 500), page => page.Events.Any(e => e.Kind == DeploymentEventKind.SettingsChanged),
            TimeSpan.FromSeconds(10), "the settings change recorded")).Events;

        var created = events[0];
        Assert.Equal(DeploymentEventKind.StatusChanged, created.Kind);
        Assert.Null(created.FromStatus);
        Assert.Equal(DeploymentStatus.Initializing, created.ToStatus);
        Assert.Equal("ivy", created.Owner);
        var scaling = events.First(e => e.Kind == DeploymentEventKind.ScalingDecision);
        Assert.Equal((0, 1, "min_instances"), (scaling.Instances, scaling.Target, scaling.Reason));
        var placed = Assert.Single(events, e => e.Kind == DeploymentEventKind.Placed);
        Assert.Equal(2, placed.Gpus!.Count);
        Assert.Equal(sim.Cluster.Silos[0].Name, placed.Node);
        Assert.Contains(events, e => e.Kind == DeploymentEventKind.InstancePhase && e.Phase == InstancePhase.Running && e.InstanceId == placed.InstanceId);
        Assert.Contains(events, e => e.Kind == DeploymentEventKind.StatusChanged && e.ToStatus == DeploymentStatus.Running);
        var settings = Assert.Single(events, e => e.Kind == DeploymentEventKind.SettingsChanged);
        Assert.Equal((1, 1, 0, 3), (settings.MinInstancesBefore, settings.MaxInstancesBefore, settings.MinInstancesAfter, settings.MaxInstancesAfter));
        Assert.True(events.Select(e => e.Time).SequenceEqual(events.Select(e => e.Time).Order()), "events in time order");
    }
}
