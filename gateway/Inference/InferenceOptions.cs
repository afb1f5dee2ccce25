using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Admission, cold start and forwarding settings of the inference gateway (configuration section
/// <c>DeepDeploy:Inference</c>, e.g. <c>DeepDeploy__Inference__QueueCapacity=500</c>).</summary>
public sealed class InferenceOptions
{
    public const string Section = "DeepDeploy:Inference";

    /// <summary>Requests one deployment may have in this gateway at once, in flight plus waiting; beyond it 429
    /// "Rate limited" (DeepInfra's default is 200).</summary>
    public int MaxConcurrentRequests { get; set; } = 200;

    /// <summary>Requests that may wait per deployment when every instance slot is taken; beyond it 429.</summary>
    public int QueueCapacity { get; set; } = 200;

    /// <summary>How long a request may wait for a slot before it gets 503 queue_timeout.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a request is held while a deployment without a serving instance starts one.</summary>
    public TimeSpan ColdStartTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retry-After (seconds) on 429 and 503 answers.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Attempts per request on instances that refuse the connection or fail before the first byte.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>An instance that failed a connection is not picked again for this long (unless the control plane
    /// replaces it sooner).</summary>
    public TimeSpan UnhealthyCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest silence from an engine (no byte) before the request is abandoned.</summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How requests reach engines: YARP (the default) or raw HTTP/1.1 (<see cref="EngineForwarding"/>; opt-in:
    /// its floor measured 0.74-0.94x the YARP floor's CPU per request, docs/gateway.md "Forwarding to engines").</summary>
    public EngineForwarding Forwarding { get; set; } = EngineForwarding.Yarp;

    /// <summary>How often the gateway renews its route subscription (a full snapshot: the safety net for a lost push).</summary>
    public TimeSpan RouteRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the gateway reports per-deployment load to the deployment grains.</summary>
    public TimeSpan LoadReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether load pressure (a queue growing, in flight past <see cref="LoadPressureThreshold"/>) is reported at
    /// once; false: periodic reports only (fewer grain calls, the autoscaler hears of a burst up to an interval later).</summary>
    public bool ImmediateLoadReports { get; set; } = true;

    /// <summary>Share of this gateway's slots on a deployment whose filling sends an immediate load report (as does a
    /// request that has to queue): the autoscaler hears of pressure at once, not at the next periodic report.</summary>
    public double LoadPressureThreshold { get; set; } = 0.8;

    /// <summary>Least time between two rounds of immediate load reports (each at most one call per deployment).</summary>
    public TimeSpan UrgentReportInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The routing policy of deployments not in <see cref="RoutingByModel"/>: least-loaded, round-robin or
    /// random (a request may name another in the X-DeepDeploy-Routing header).</summary>
    public string Routing { get; set; } = RoutingPolicies.LeastLoaded.Name;

    /// <summary>The size (max_tokens) a request that sets none counts for in its instance's outstanding generation
    /// (<see cref="OutstandingTokensScorer"/>): the engine's own default is not known here.</summary>
    public int AssumedMaxTokens { get; set; } = 512;

    /// <summary>The routing policy per deployment, by its full model name ("user/model_name").</summary>
    public Dictionary<string, string> RoutingByModel { get; set; } = new(StringComparer.Ordinal);

    /// <summary>True when every policy named here exists.</summary>
    public bool RoutingIsValid() =>
        RoutingPolicies.Find(Routing) is not null && RoutingByModel.Values.All(v => RoutingPolicies.Find(v) is not null);

    /// <summary>The policy of a deployment's requests that name none.</summary>
    public RoutingPolicy RoutingFor(string model) =>
        RoutingPolicies.Find(RoutingByModel.GetValueOrDefault(model) ?? Routing) ?? RoutingPolicies.LeastLoaded;
}
