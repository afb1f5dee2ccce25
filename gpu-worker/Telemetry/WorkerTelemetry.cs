using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeepDeploy.GpuWorker.Telemetry;

/// <summary>
/// OpenTelemetry in the worker: server spans of ASP.NET Core (the gateway's W3C traceparent is their parent) with
/// the <see cref="WorkerActivity"/> children, the worker's meter and the runtime's, exported at <c>/metrics</c>
/// (open: the worker's port is internal, and the node agent scrapes it) and, when the node passed
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> on, over OTLP with the standard OTEL_* variables.
/// </summary>
public static class WorkerTelemetry
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static void AddWorkerTelemetry(this WebApplicationBuilder builder, string? instanceId)
    {
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable));
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
                {
                    resource.AddService("deepdeploy-worker", serviceInstanceId: instanceId);
                }

                if (instanceId is not null)
                {
                    resource.AddAttributes([new("deepdeploy.instance.id", instanceId)]);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("DeepDeploy.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
                    .AddPrometheusExporter(o =>
                    {
                        // The node agent and the gateway read plain series, and right after a change.
                        o.ScrapeResponseCacheDurationMilliseconds = 0;
                        o.ScopeInfoEnabled = false;
                        o.TargetInfoEnabled = false;
                    });
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        // Spans with nowhere to go are not recorded at all.
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = http => http.Request.Path.StartsWithSegments("/v1"))
                .AddSource(WorkerActivity.SourceName)
                .AddOtlpExporter());
        }
    }
}
