using System.Diagnostics;
using OpenTelemetry.Trace;

namespace DeepDeploy.Silo.Hosting.Telemetry;

/// <summary>
/// The root sampler of the default sampling (parent-based: a caller's sampled flag is honoured) when an OTLP
/// endpoint is set and <c>OTEL_TRACES_SAMPLER</c> is not. A trace that starts here is recorded always, except one
/// that starts with an inference request (<c>/v1/...</c>, thousands a second), recorded with probability
/// <see cref="InferenceRatio"/> by its trace id. Control-plane work (deploys, placements, scaling) stays traced in
/// full: it is rare and it is what an operator reads traces for.
/// </summary>
public sealed class InferenceSampler(IHttpContextAccessor http) : Sampler
{
    /// <summary>Share of inference requests traced without a caller's decision.</summary>
    public const double InferenceRatio = 0.1;

    static readonly Sampler Inference = new TraceIdRatioBasedSampler(InferenceRatio);

    static readonly Sampler Always = new AlwaysOnSampler();

    /// <summary>ASP.NET Core starts the server span after it has set the request's context: its path is known.</summary>
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind == ActivityKind.Server && IsInference(http.HttpContext?.Request.Path.Value)
            ? Inference.ShouldSample(samplingParameters)
            : Always.ShouldSample(samplingParameters);

    static bool IsInference(string? path) => path is not null && path.StartsWith("/v1/", StringComparison.Ordinal);
}
