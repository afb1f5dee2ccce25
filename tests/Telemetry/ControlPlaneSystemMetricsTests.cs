using System.Diagnostics.Metrics;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Node.Telemetry;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>The control-plane and node metrics of the real all-in-one host, with real worker processes: the hooks
/// where instances run, weights are fetched or found, and engines restart.</summary>
[Collection(SystemCollection.Name)]
public sealed class ControlPlaneSystemMetricsTests
{
    const string Node = "test-node";

    [Fact]
    public async Task A_deployment_its_weights_and_a_crashed_engine_show_in_the_metrics()
    {
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Node:RestartBackoff"] = "00:00:00.200",
        });
        var factory = system.Services.GetRequiredService<IMeterFactory>();
        using var controlPlane = new ControlPlaneMetricsCapture(ControlPlaneMetrics.MeterName, [factory]);
        using var node = new ControlPlaneMetricsCapture(NodeMetrics.MeterName, [factory]);
        using var client = system.Client(await system.CreateUserAsync("otto"));

        var first = Id(await CreateAsync(client, Tiny("first")));
        await RunningSystem.WaitForAsync(client, first, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => controlPlane.Sum("deepdeploy.instances", (TelemetryTags.DeploymentId, first), (TelemetryTags.InstanceStatus, "running")) == 1,
            TimeSpan.FromSeconds(10), "one running instance");
        Assert.Equal(1, controlPlane.Sum("deepdeploy.gpus", (TelemetryTags.Node, Node), (TelemetryTags.GpuState, "used")));
        Assert.Equal(1, node.Sum("deepdeploy.weights.cache.requests", (TelemetryTags.Node, Node), (TelemetryTags.CacheResult, "miss")));
        var downloaded = node.Sum("deepdeploy.weights.download.size", (TelemetryTags.Node, Node));
        Assert.True(downloaded > 0, "no weights bytes counted");

        // The same repo again: found on disk, nothing more downloaded.
        var second = Id(await CreateAsync(client, Tiny("second")));
        await RunningSystem.WaitForAsync(client, second, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        Assert.Equal(1, node.Sum("deepdeploy.weights.cache.requests", (TelemetryTags.Node, Node), (TelemetryTags.CacheResult, "hit")));
        Assert.Equal(downloaded, node.Sum("deepdeploy.weights.download.size", (TelemetryTags.Node, Node)));
        Assert.Equal(2, controlPlane.Sum("deepdeploy.gpus", (TelemetryTags.Node, Node), (TelemetryTags.GpuState, "used")));

        // A crashed engine is restarted in place: one restart of that deployment.
        var instance = Assert.Single(system.Agent.Instances, i => i.Launch.DeployId == first);
        var pid = instance.Process!.Id;
        instance.Process.Kill();
        await Eventually.TrueAsync(() => instance.Process is { HasExited: false } p && p.Id != pid, TimeSpan.FromSeconds(30), "the engine restarted");
        Assert.Equal(1, node.Sum("deepdeploy.engine.restarts", (TelemetryTags.Node, Node), (TelemetryTags.DeploymentId, first)));
        Assert.Equal(0, node.Sum("deepdeploy.engine.restarts", (TelemetryTags.Node, Node), (TelemetryTags.DeploymentId, second)));
    }
}
