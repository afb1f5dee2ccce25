using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>
/// One trace per inference request across processes: the all-in-one host runs in this process and its spans go to
/// an in-memory exporter; the worker is a real process that exports its spans over OTLP/HTTP to
/// <see cref="OtlpReceiver"/>, with the OTEL_* variables the node passes on to engines.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class InferenceTraceTests
{
    static readonly string[] OtlpVariables = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_BSP_SCHEDULE_DELAY"];

    /// <summary>The host records spans only with an OTLP endpoint: the receiver's (the host's spans are read from
    /// the in-memory exporter, all in this process).</summary>
    static Dictionary<string, string> Settings(OtlpReceiver receiver) => new()
    {
        ["DeepDeploy:Node:WorkerArgs"] = "--engine fake --fake-token-rate 200",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        // Every trace, not the default share of inference requests.
        ["OTEL_TRACES_SAMPLER"] = "parentbased_always_on",
    };

    [Fact]
    public async Task The_gateway_and_worker_spans_of_one_request_share_a_trace_and_the_worker_span_is_the_child_of_the_forward_span()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var gatewaySpans = new SpanList();
        await using var system = await RunningSystem.StartAsync(settings: Settings(receiver),
            configure: builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(gatewaySpans)));

        // Read by the node when it starts the worker (engines inherit OTEL_* from the host's environment).
        var saved = OtlpVariables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        Environment.SetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.Endpoint.ToString().TrimEnd('/'));
        Environment.SetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        Environment.SetEnvironmentVariable("OTEL_BSP_SCHEDULE_DELAY", "100");
        using var tracy = system.Client(await system.CreateUserAsync("tracy"));
        try
        {
            await GatewaySystem.DeployAsync(tracy, "traced", maxBatchSize: 2, minInstances: 1, maxInstances: 1, running: 1);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }

        var response = await tracy.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("tracy/traced", maxTokens: 5, stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();

        var server = await Eventually.ValueAsync(() => Task.FromResult(gatewaySpans.FirstOrDefault(a => a.Kind == ActivityKind.Server
                && (string?)a.GetTagItem(InferenceMetrics.ModelKey) == "tracy/traced" && a.Duration > TimeSpan.Zero)),
            TimeSpan.FromSeconds(10), "the gateway's server span");
        var trace = gatewaySpans.Where(a => a.TraceId == server.TraceId).ToArray();
        var admission = Assert.Single(trace, a => a.OperationName == "deepdeploy.admission");
        Assert.Equal(server.SpanId, admission.ParentSpanId);
        Assert.Equal("granted", admission.GetTagItem("deepdeploy.outcome"));
        var forward = Assert.Single(trace, a => a.Source.Name == "System.Net.Http" && a.ParentSpanId == server.SpanId);
        Assert.Equal(ActivityKind.Client, forward.Kind);
        Assert.Equal("ok", server.GetTagItem(InferenceMetrics.OutcomeKey));

        // The host exports over OTLP too: its own server span of this trace reaches the receiver as well.
        var traceId = server.TraceId.ToHexString();
        var worker = await Eventually.ValueAsync(() => Task.FromResult(receiver.Spans.FirstOrDefault(s => s.TraceId == traceId && s.Kind == OtlpSpan.ServerKind
                && s.Service == "deepdeploy-worker")),
            TimeSpan.FromSeconds(30), "the worker's server span of the request, over OTLP");
        Assert.Equal(forward.SpanId.ToHexString(), worker.ParentSpanId);
        Assert.Equal("chat", worker.Attributes["gen_ai.operation.name"]);
        Assert.Equal("5", worker.Attributes["gen_ai.usage.output_tokens"]);

        var phases = await Eventually.ValueAsync(() => Task.FromResult(receiver.Spans.Where(s => s.ParentSpanId == worker.SpanId).Select(s => s.Name).ToHashSet() is { Count: 3 } names ? names : null),
            TimeSpan.FromSeconds(30), "the worker's queue, prefill and decode spans");
        Assert.Equal(["deepdeploy.worker.decode", "deepdeploy.worker.prefill", "deepdeploy.worker.queue"], phases.Order());
    }

    [Fact]
    public async Task A_deploy_request_traces_its_grain_calls_and_a_placement_traces_through_the_node_to_weights_fetch_and_engine_start()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var spans = new SpanList();
        await using var system = await RunningSystem.StartAsync(settings: Settings(receiver),
            configure: builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        using var client = system.Client(await system.CreateUserAsync("ops"));
        var deployId = await GatewaySystem.DeployAsync(client, "launched", maxBatchSize: 2, minInstances: 1, maxInstances: 1, running: 1);

        var launch = await Eventually.ValueAsync(() => Task.FromResult(spans.FirstOrDefault(a => a.OperationName == "deepdeploy.node.launch"
                && (string?)a.GetTagItem("deepdeploy.deployment.id") == deployId)),
            TimeSpan.FromSeconds(10), "the node's launch span");
        var trace = spans.Where(a => a.TraceId == launch.TraceId).ToArray();
        Assert.Equal(ActivityStatusCode.Unset, launch.Status);
        Assert.Contains(trace, a => a.OperationName == "deepdeploy.weights.acquire" && a.ParentSpanId == launch.SpanId);
        Assert.Contains(trace, a => a.OperationName == "deepdeploy.engine.start" && a.ParentSpanId == launch.SpanId);

        // Up the parents: the grain calls of the deployment's control loop that placed the instance.
        var byId = trace.ToDictionary(a => a.SpanId);
        var chain = new List<Activity>();
        for (var at = launch; byId.TryGetValue(at.ParentSpanId, out var parent); at = parent)
        {
            chain.Add(parent);
        }

        var names = string.Join(" <- ", chain.Select(a => a.DisplayName));
        Assert.True(chain.Any(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.DisplayName == "IGpuNodeGrain/StartInstance"), names);

        // The deploy request's own trace: the gateway's server span and the grain calls it made.
        var request = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a.DisplayName == "POST /deploy/llm");
        Assert.Contains(spans, a => a.TraceId == request.TraceId && a.Kind == ActivityKind.Client
            && a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.DisplayName.StartsWith("IDeploymentGrain/", StringComparison.Ordinal));

        // The control loop placed the instance on a later tick, in its own trace: its placement span links back to
        // the deploy request's trace, so an operator goes from the request to the placement it caused.
        var place = Assert.Single(chain, a => a.Source.Name == PlacementTrace.SourceName && a.OperationName == "deepdeploy.deployment.place");
        Assert.Equal(deployId, place.GetTagItem("deepdeploy.deployment.id"));
        Assert.Contains(place.Links, link => link.Context.TraceId == request.TraceId);
    }
}
