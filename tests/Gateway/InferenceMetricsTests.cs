using System.Diagnostics.Metrics;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Gateway;

[Trait("Category", "Unit")]
public sealed class InferenceMetricsTests
{
    [Fact]
    public async Task In_flight_and_waiting_are_gauges_per_model_of_the_DeepDeploy_Gateway_meter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var table = new RouteTable(Options.Create(new InferenceOptions()), TimeProvider.System, new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);
        var metrics = new InferenceMetrics(services.GetRequiredService<IMeterFactory>(), table);
        table.Apply(new RouteTableUpdate(Guid.NewGuid(), 1, true,
            [new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 1, 1, [new RouteInstance("i1", "http://127.0.0.1:1")], 1)], [], []));
        var lane = table.Find("alice/m")!;
        var lease = (await lane.AcquireAsync(false, default)).Lease!;
        var waiting = lane.AcquireAsync(false, default);

        var seen = new Dictionary<string, (long Value, object? Model)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == InferenceMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
            seen[instrument.Name] = (value, tags.ToArray().Single(t => t.Key == "model").Value));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            seen[instrument.Name] = (value, tags.ToArray().Single(t => t.Key == "model").Value));
        listener.Start();
        listener.RecordObservableInstruments();
        metrics.Request("alice/m", "ok");

        Assert.Equal((1L, (object?)"alice/m"), seen["deepdeploy.gateway.requests_in_flight"]);
        Assert.Equal((1L, (object?)"alice/m"), seen["deepdeploy.gateway.requests_waiting"]);
        Assert.Equal((1L, (object?)"alice/m"), seen["deepdeploy.gateway.requests"]);
        lease.Release();
        (await waiting).Lease!.Release();
    }
}
