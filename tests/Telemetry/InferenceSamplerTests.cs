using System.Diagnostics;
using DeepDeploy.Silo.Hosting.Telemetry;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Trace;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>The default sampling: a share of the inference requests that start a trace, everything else, and a
/// caller's decision.</summary>
[Trait("Category", "Unit")]
public sealed class InferenceSamplerTests
{
    [Fact]
    public void About_a_tenth_of_the_inference_requests_that_start_a_trace_are_recorded()
    {
        var recorded = Enumerable.Range(0, 4000).Count(_ => Recorded("/v1/openai/chat/completions", default));

        Assert.InRange(recorded, 300, 500);
    }

    [Theory]
    [InlineData("/deploy/llm")]
    [InlineData("/deploy/list")]
    public void Every_other_request_that_starts_a_trace_is_recorded(string path) =>
        Assert.All(Enumerable.Range(0, 200), _ => Assert.True(Recorded(path, default)));

    [Fact]
    public void A_callers_decision_is_honoured_both_ways()
    {
        Assert.All(Enumerable.Range(0, 200), _ => Assert.True(Recorded("/v1/openai/chat/completions", Parent(ActivityTraceFlags.Recorded))));
        Assert.All(Enumerable.Range(0, 200), _ => Assert.False(Recorded("/deploy/llm", Parent(ActivityTraceFlags.None))));
    }

    static ActivityContext Parent(ActivityTraceFlags flags) =>
        new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags, isRemote: true);

    static bool Recorded(string path, ActivityContext parent)
    {
        var accessor = new HttpContextAccessor { HttpContext = new DefaultHttpContext { Request = { Path = path } } };
        var sampler = new ParentBasedSampler(new InferenceSampler(accessor));
        var traceId = parent == default ? ActivityTraceId.CreateRandom() : parent.TraceId;
        var decision = sampler.ShouldSample(new SamplingParameters(parent, traceId, "Microsoft.AspNetCore.Hosting.HttpRequestIn", ActivityKind.Server));
        return decision.Decision == SamplingDecision.RecordAndSample;
    }
}
