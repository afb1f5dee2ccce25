using DeepDeploy.Gateway.Auth;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace DeepDeploy.Silo.Hosting.Telemetry;

/// <summary>
/// OpenTelemetry in a DeepDeploy host (every role): traces of ASP.NET Core, HttpClient, Orleans and the
/// <c>DeepDeploy.*</c> sources, recorded only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> gives them somewhere to go
/// (the standard OTEL_* variables apply; sampling is parent-based, with 10 % of the inference requests that start a
/// trace, see <see cref="InferenceSampler"/>, unless OTEL_TRACES_SAMPLER says otherwise); metrics of the
/// <c>DeepDeploy.*</c> meters, Orleans, ASP.NET Core, Kestrel, HttpClient and the
/// runtime, at <c>/metrics</c> (Prometheus) and over OTLP when it is set. <c>DeepDeploy:Telemetry:Enabled=false</c>
/// turns all of it off. See docs/observability.md.
/// </summary>
public static class TelemetryExtensions
{
    public const string EnabledKey = "DeepDeploy:Telemetry:Enabled";

    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string SamplerKey = "OTEL_TRACES_SAMPLER";

    public const string MetricsPath = "/metrics";

    /// <summary>Every meter a DeepDeploy process exports (docs/observability.md, the naming contract).</summary>
    public static readonly string[] Meters =
    [
        "DeepDeploy.*", "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
        "System.Net.Http", "System.Runtime",
    ];

    /// <summary>HttpClient's per-request instruments (<c>System.Net.Http</c>): several recordings of every
    /// forwarded request with up to seven attributes each, a large share of what metrics cost the gateway; its own
    /// <c>DeepDeploy.Gateway</c> series already describe each forwarded request. Connection durations stay.</summary>
    static readonly string[] DroppedInstruments =
    [
        "http.client.request.duration", "http.client.request.time_in_queue", "http.client.active_requests", "http.client.open_connections",
    ];

    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue(EnabledKey, true);

    public static void AddDeepDeployTelemetry(this WebApplicationBuilder builder, HostRoles roles)
    {
        if (!IsEnabled(builder.Configuration))
        {
            return;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win when the operator sets them.
                if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService("deepdeploy", serviceInstanceId: builder.Configuration["POD_NAME"] ?? Environment.MachineName);
                }

                resource.AddAttributes([new("deepdeploy.role", roles.Describe())]);
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddPrometheusExporter();
                foreach (var instrument in DroppedInstruments)
                {
                    metrics.AddView(instrument, MetricStreamConfiguration.Drop);
                }

                if (IsOtlpEnabled(builder.Configuration))
                {
                    metrics.AddOtlpExporter();
                }
            });

        // Spans with nowhere to go are not recorded at all: traces need an OTLP endpoint.
        if (IsOtlpEnabled(builder.Configuration))
        {
            if (string.IsNullOrWhiteSpace(builder.Configuration[SamplerKey]))
            {
                builder.Services.AddHttpContextAccessor();
                telemetry.WithTracing(tracing => tracing.SetSampler(services =>
                    new ParentBasedSampler(new InferenceSampler(services.GetRequiredService<IHttpContextAccessor>()))));
            }

            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsProbe(http.Request.Path.Value))
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = request => !IsProbe(request.RequestUri?.AbsolutePath))
                .AddSource("DeepDeploy.*")
                .AddSource(ActivitySources.AllActivitySourceName)
                .AddOtlpExporter());
        }
    }

    public static bool IsOtlpEnabled(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);

    /// <summary>The Prometheus scrape endpoint: operator-only where the process serves the API (401 without a
    /// token, 403 for a user's); other roles serve no public port, so it is open there like /health.</summary>
    public static void MapDeepDeployMetrics(this WebApplication app, HostRoles roles)
    {
        if (!IsEnabled(app.Configuration))
        {
            return;
        }

        var endpoint = app.MapPrometheusScrapingEndpoint(MetricsPath);
        if (roles.HasGateway())
        {
            // Scrapers send Bearer; an operator signed in to the web console opens it in the browser.
            endpoint.RequireAuthorization(p => p.AddAuthenticationSchemes(DeepDeploy.Gateway.Auth.ConsoleCookie.BrowserOrBearer).RequireRole(Roles.Operator));
        }
    }

    /// <summary>Probes and scrapes: every few seconds, nothing to trace.</summary>
    static bool IsProbe(string? path) =>
        path is not null && (path.StartsWith("/health", StringComparison.Ordinal) || path.StartsWith(MetricsPath, StringComparison.Ordinal));
}
