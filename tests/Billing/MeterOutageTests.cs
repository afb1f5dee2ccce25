using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Billing;

/// <summary>
/// A storage outage at the ledger, as the deployment's <see cref="DeploymentMeter"/> lives it (a real ledger on a
/// TestingHost silo with SQLite state and a fake clock; the outage is <see cref="OutageGrainFactory"/>): a pause and a
/// stop the ledger could not take are billed at the moment they happened, not at the last renewal before them (up to
/// a tick early) nor when the ledger came back — also after an outage longer than the meter's lease.
/// </summary>
public sealed class MeterOutageTests
{
    static readonly TimeSpan Tick = TimeSpan.FromSeconds(2);

    /// <param name="outageSeconds">10 s, and longer than the ledger's lease (30 s).</param>
    [Theory]
    [InlineData(10)]
    [InlineData(75)]
    public async Task A_pause_and_a_stop_during_a_storage_outage_are_billed_at_the_moment_they_happened(int outageSeconds)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var cluster = await LedgerCluster.StartAsync(silos: 1, clock);
        var outage = OutageGrainFactory.Over(cluster.Cluster.Client);
        var spec = new DeploymentSpec("olga", "model", "A100-80GB", 1, 4, "o/r", null, null, 1, 1, []);
        var t0 = clock.GetUtcNow();
        var deployments = new[] { "d-paused", "d-stopped", "d-kept" }.ToDictionary(d => d, d =>
            (Meter: new DeploymentMeter(d, outage.Grains, clock, new GpuPrices(), NullLogger.Instance),
                Instance: new InstanceRecord { Id = d + "-1", Node = "n", Phase = InstancePhase.Running, RunningSince = t0, ServingSince = t0 }));
        var stopped = false;

        async Task TicksAsync(TimeSpan span)
        {
            for (var end = clock.GetUtcNow() + span; clock.GetUtcNow() < end;)
            {
                clock.Advance(Tick);
                foreach (var (name, (meter, instance)) in deployments)
                {
                    await meter.RenewAsync(spec, name == "d-stopped" && stopped ? [] : [instance]);
                }
            }
        }

        await TicksAsync(TimeSpan.FromSeconds(10));
        outage.Down = true;

        // 1.5 s after the last renewal (a lost pause would be billed to that renewal: 1.5 s short).
        clock.Advance(TimeSpan.FromSeconds(1.5));
        var paused = deployments["d-paused"];
        var pausedAt = clock.GetUtcNow();
        await paused.Meter.PauseAsync(spec, paused.Instance);
        paused.Instance.Phase = InstancePhase.Starting;
        clock.Advance(TimeSpan.FromSeconds(0.3));
        var stop = deployments["d-stopped"];
        var stoppedAt = clock.GetUtcNow();
        await stop.Meter.StopAsync(spec, stop.Instance);
        stopped = true;
        Assert.Equal(1, paused.Meter.Unsent);
        Assert.Equal(1, stop.Meter.Unsent);

        // The engine runs again during the outage; the ledger hears of it only afterwards.
        await TicksAsync(TimeSpan.FromSeconds(outageSeconds / 2.0));
        var backAt = clock.GetUtcNow();
        (paused.Instance.Phase, paused.Instance.ServingSince) = (InstancePhase.Running, backAt);
        await TicksAsync(TimeSpan.FromSeconds(outageSeconds / 2.0));
        outage.Down = false;
        await TicksAsync(TimeSpan.FromSeconds(10));
        Assert.All(deployments.Values, d => Assert.Equal(0, d.Meter.Unsent));

        var endAt = clock.GetUtcNow();
        foreach (var (name, (meter, instance)) in deployments.Where(d => d.Key != "d-stopped"))
        {
            await meter.StopAsync(spec, instance, endAt);
        }

        var ledger = cluster.Cluster.Client.GetGrain<IBillingLedgerGrain>("olga");
        var billed = (await ledger.GetUsage(t0.AddHours(-1), t0.AddHours(1))).Lines.ToDictionary(l => l.DeployId, l => l.Seconds);
        Assert.Equal(Seconds(t0, pausedAt) + Seconds(backAt, endAt), billed["d-paused"]);
        Assert.Equal(Seconds(t0, stoppedAt), billed["d-stopped"]);
        Assert.Equal(Seconds(t0, endAt), billed["d-kept"]);
    }

    static decimal Seconds(DateTimeOffset from, DateTimeOffset to) => (decimal)(to - from).Ticks / TimeSpan.TicksPerSecond;
}
