using System.Diagnostics.Metrics;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Node.Weights;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Node.Telemetry;

/// <summary>A GPU node's metrics, meter <see cref="MeterName"/>: bytes the weights cache fetched from the hub,
/// its hits and misses (read from the cache's own counts), and engine restarts per deployment.</summary>
public sealed class NodeMetrics
{
    public const string MeterName = "DeepDeploy.Node";

    readonly KeyValuePair<string, object?> _node;
    readonly Counter<long> _restarts;

    public NodeMetrics(IMeterFactory meters, IOptions<NodeOptions> options, WeightsCache cache)
    {
        _node = new KeyValuePair<string, object?>(TelemetryTags.Node, options.Value.Name);
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("deepdeploy.weights.download.size", () => new Measurement<long>(cache.DownloadedBytes, _node), "By",
            "Bytes of weights this node downloaded from the hub (cache hits download none).");
        meter.CreateObservableCounter("deepdeploy.weights.cache.requests", () => new[]
        {
            new Measurement<long>(cache.Hits, _node, new KeyValuePair<string, object?>(TelemetryTags.CacheResult, "hit")),
            new Measurement<long>(cache.Misses, _node, new KeyValuePair<string, object?>(TelemetryTags.CacheResult, "miss")),
        }, "{request}", "Weights asked of this node's cache: found on disk (hit) or fetched from the hub (miss).");
        _restarts = meter.CreateCounter<long>("deepdeploy.engine.restarts", "{restart}",
            "Engine processes restarted in place after a crash or failed health checks.");
    }

    public void EngineRestarted(string deployId) =>
        _restarts.Add(1, _node, new KeyValuePair<string, object?>(TelemetryTags.DeploymentId, deployId));
}
