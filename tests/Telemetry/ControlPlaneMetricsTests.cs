using System.Diagnostics.Metrics;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>The control plane's metrics over a simulated two-node cluster: after a deployment starts, scales up and
/// stops, the gauges, decisions and metered GPU time match what the grains did.</summary>
public sealed class ControlPlaneMetricsTests
{
    const string Instances = "deepdeploy.instances";
    const string Gpus = "deepdeploy.gpus";
    const string Decisions = "deepdeploy.autoscaler.decisions";
    const string GpuTime = "deepdeploy.billing.gpu_time";
    const string Spend = "deepdeploy.billing.spend";

    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Instances_GPUs_decisions_and_metered_time_follow_a_scale_up_and_a_stop()
    {
        await using var sim = await SimulatedCluster.StartAsync(2);
        var factories = sim.Cluster.Silos.Select(s => sim.Cluster.GetSiloServiceProvider(s.SiloAddress).GetRequiredService<IMeterFactory>()).ToArray();
        using var capture = new ControlPlaneMetricsCapture(ControlPlaneMetrics.MeterName, factories);
        const int totalGpus = 2 * SimulatedCluster.GpusPerNode;

        await sim.CreateUserAsync("mia", gpuLimit: 8);
        var id = await sim.DeployAsync("mia", "watched", numGpus: 1, min: 1, max: 3, maxBatchSize: 4);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, Timeout);
        await Eventually.TrueAsync(() => Running(capture, id) == 1 && Used(capture) == 1, Timeout, "one running instance on one used GPU");
        Assert.Equal(totalGpus - 1, capture.Sum(Gpus, (TelemetryTags.GpuState, "free")));
        Assert.Equal(1, capture.Sum(Instances, (TelemetryTags.DeploymentId, id), (TelemetryTags.Model, "mia/watched")));

        // 10 requests with max_batch_size 4 at 80 % → ceil(10 / 3.2) = 4, capped at max 3.
        await sim.Grains.GetGrain<IDeploymentGrain>(id).ReportLoad(new GatewayLoad("gw-1", 4, 6, 0));
        await sim.WaitForAsync(id, v => v.RunningInstances == 3, Timeout);
        await Eventually.TrueAsync(() => Running(capture, id) == 3 && Used(capture) == 3, Timeout, "three running instances on three used GPUs");
        Assert.Equal(totalGpus - 3, capture.Sum(Gpus, (TelemetryTags.GpuState, "free")));

        var decisions = capture.Series(Decisions).Where(d => d[TelemetryTags.DeploymentId] == id)
            .Select(d => (d[TelemetryTags.ScaleFrom], d[TelemetryTags.ScaleTo], d[TelemetryTags.Reason])).ToList();
        Assert.Contains(("0", "1", "min_instances"), decisions);
        Assert.Contains(("1", "3", "load"), decisions);
        Assert.Equal(1, capture.Sum(Decisions, (TelemetryTags.DeploymentId, id), (TelemetryTags.ScaleFrom, 1), (TelemetryTags.ScaleTo, 3)));
        Assert.Equal(1, capture.Sum(Decisions, (TelemetryTags.DeploymentId, id), (TelemetryTags.ScaleTo, 3), (TelemetryTags.ScaleTrigger, "periodic_report")));

        // Metered while serving; once stopped every meter is closed and the counter holds what the ledger billed.
        await Eventually.TrueAsync(() => capture.Sum(GpuTime, (TelemetryTags.User, "mia")) > 0, Timeout, "GPU time metered");
        await sim.Grains.GetGrain<IDeploymentGrain>(id).Stop();
        await Eventually.TrueAsync(() => Used(capture) == 0 && capture.Sum(Instances, (TelemetryTags.DeploymentId, id)) == 0, Timeout, "all GPUs free");

        var usage = await Eventually.MatchAsync(
            () => sim.Grains.GetGrain<IBillingLedgerGrain>("mia").GetUsage(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1)),
            u => Math.Abs((double)u.Lines.Sum(l => l.GpuSeconds) - capture.Sum(GpuTime, (TelemetryTags.User, "mia"))) < 1e-6,
            Timeout, "the metered GPU time equal to the ledger's");
        var gpuSeconds = capture.Sum(GpuTime, (TelemetryTags.User, "mia"), (TelemetryTags.GpuType, SimulatedCluster.Gpu));
        Assert.Equal((double)usage.Lines.Sum(l => l.GpuSeconds), gpuSeconds, tolerance: 1e-6);
        var price = (double)new GpuPrices().Of(SimulatedCluster.Gpu);
        Assert.Equal(gpuSeconds * price / 3600, capture.Sum(Spend, (TelemetryTags.User, "mia")), tolerance: 1e-9);
    }

    static double Running(ControlPlaneMetricsCapture capture, string deployId) =>
        capture.Sum(Instances, (TelemetryTags.DeploymentId, deployId), (TelemetryTags.InstanceStatus, "running"));

    static double Used(ControlPlaneMetricsCapture capture) => capture.Sum(Gpus, (TelemetryTags.GpuState, "used"));
}
