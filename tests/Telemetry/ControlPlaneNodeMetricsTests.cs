using System.Diagnostics.Metrics;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Node;
using DeepDeploy.Node.Telemetry;
using DeepDeploy.Node.Weights;
using DeepDeploy.Tests.Weights;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>A node's metrics (meter DeepDeploy.Node) over its weights cache against the local hub over HTTP.</summary>
public sealed class ControlPlaneNodeMetricsTests
{
    [Fact]
    public async Task Downloaded_bytes_cache_hits_and_misses_and_restarts_count_what_the_node_did()
    {
        await using var hub = await WeightsHub.StartAsync();
        hub.Write("acme/one", "m.gguf", new byte[1_500_000]);
        var commit = (await new HuggingFaceClient(new HttpClient(), hub.Endpoint).ResolveAsync("acme/one", null, null, default)).Commit;
        using var node = new CacheUnderTest(hub.Endpoint);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new NodeMetrics(factory, Options.Create(new NodeOptions { Name = "n1" }), node.Cache);
        using var capture = new ControlPlaneMetricsCapture(NodeMetrics.MeterName, [factory]);

        using (await node.Cache.AcquireAsync(node.Launch("acme/one", commit, "m.gguf"), null, null, default))
        using (await node.Cache.AcquireAsync(node.Launch("acme/one", commit, "m.gguf"), null, null, default))
        {
        }

        metrics.EngineRestarted("d1");

        Assert.Equal(1_500_000, capture.Sum("deepdeploy.weights.download.size", (TelemetryTags.Node, "n1")));
        Assert.Equal(1, capture.Sum("deepdeploy.weights.cache.requests", (TelemetryTags.Node, "n1"), (TelemetryTags.CacheResult, "miss")));
        Assert.Equal(1, capture.Sum("deepdeploy.weights.cache.requests", (TelemetryTags.Node, "n1"), (TelemetryTags.CacheResult, "hit")));
        Assert.Equal(1, capture.Sum("deepdeploy.engine.restarts", (TelemetryTags.Node, "n1"), (TelemetryTags.DeploymentId, "d1")));
    }
}
