using System.Diagnostics.Metrics;
using System.Text;
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
    public async Task Queue_size_and_each_instance_in_flight_and_capacity_are_gauges_of_the_DeepDeploy_Gateway_meter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var table = new RouteTable(Options.Create(new InferenceOptions()), TimeProvider.System, new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);
        var metrics = new InferenceMetrics(services.GetRequiredService<IMeterFactory>(), table);
        table.Apply(new RouteTableUpdate(Guid.NewGuid(), 1, true,
            [new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 1, 1, [new RouteInstance("i1", "http://127.0.0.1:1")], 1)], [], []));
        var lane = table.Find("alice/m")!;
        var lease = (await lane.AcquireAsync(false, default)).Lease!;
        var waiting = lane.AcquireAsync(false, default);

        var seen = new Dictionary<string, (long Value, Dictionary<string, object?> Tags)>();
        using var listener = Listen(seen);
        listener.RecordObservableInstruments();
        metrics.Request("alice/m", "chat", "ok", TimeSpan.FromMilliseconds(5));
        metrics.Refusal("alice/m", "queue_full");

        Assert.Equal(1, seen["deepdeploy.gateway.instance.in_flight"].Value);
        Assert.Equal("i1", seen["deepdeploy.gateway.instance.in_flight"].Tags["deepdeploy.instance.id"]);
        Assert.Equal(1, seen["deepdeploy.gateway.instance.capacity"].Value);
        Assert.Equal(1, seen["deepdeploy.gateway.queue.size"].Value);
        Assert.Equal("alice/m", seen["deepdeploy.gateway.queue.size"].Tags["gen_ai.request.model"]);
        Assert.Equal("ok", seen["deepdeploy.gateway.requests"].Tags["deepdeploy.outcome"]);
        Assert.Equal("chat", seen["gen_ai.server.request.duration"].Tags["gen_ai.operation.name"]);
        Assert.Equal("queue_full", seen["deepdeploy.gateway.refusals"].Tags["deepdeploy.reason"]);
        lease.Release();
        (await waiting).Lease!.Release();
    }

    [Fact]
    public async Task A_streamed_answer_gives_time_to_first_token_per_output_token_and_usage_from_its_last_event()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var table = new RouteTable(Options.Create(new InferenceOptions()), TimeProvider.System, new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);
        var metrics = new InferenceMetrics(services.GetRequiredService<IMeterFactory>(), table);
        var seen = new Dictionary<string, (long Value, Dictionary<string, object?> Tags)>();
        var tokens = new List<(double Value, object? Type)>();
        using var listener = Listen(seen, (name, value, tags) =>
        {
            if (name == "gen_ai.client.token.usage")
            {
                tokens.Add((value, tags["gen_ai.token.type"]));
            }
        });

        var arrived = System.Diagnostics.Stopwatch.GetTimestamp();
        using var sink = new MemoryStream();
        var observer = new ResponseObserver(sink) { Streamed = true };
        string[] chunks =
        [
            "data: {\"choices\":[{\"delta\":{\"content\":\" lorem\"}}]}\n\n",
            new string(' ', 600),
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\": 7,\"total_tokens\":19}}\n\ndata: [DONE]\n\n",
        ];
        foreach (var chunk in chunks)
        {
            await observer.WriteAsync(Encoding.UTF8.GetBytes(chunk));
        }

        metrics.Answer("alice/m", "chat", observer, arrived);

        Assert.Equal((12, 7), observer.Usage);
        Assert.Equal(string.Concat(chunks), Encoding.UTF8.GetString(sink.ToArray()));
        Assert.Contains((12.0, (object?)"input"), tokens);
        Assert.Contains((7.0, (object?)"output"), tokens);
        Assert.True(seen.ContainsKey("gen_ai.server.time_to_first_token"));
        Assert.True(seen.ContainsKey("gen_ai.server.time_per_output_token"));
    }

    [Fact]
    public async Task An_answer_without_usage_records_no_tokens()
    {
        using var observer = new ResponseObserver(new MemoryStream());
        await observer.WriteAsync("{\"error\":{\"message\":\"bad\"}}"u8.ToArray());
        Assert.Null(observer.Usage);
        Assert.NotNull(observer.FirstWrite);
    }

    static MeterListener Listen(Dictionary<string, (long Value, Dictionary<string, object?> Tags)> seen,
        Action<string, double, Dictionary<string, object?>>? each = null)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == InferenceMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Seen(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var dictionary = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            seen[instrument.Name] = ((long)value, dictionary);
            each?.Invoke(instrument.Name, value, dictionary);
        }

        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Seen(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Seen(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Seen(i, v, t));
        listener.Start();
        return listener;
    }
}
