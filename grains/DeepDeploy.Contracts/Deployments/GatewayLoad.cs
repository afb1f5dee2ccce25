namespace DeepDeploy.Contracts.Deployments;

/// <summary>One gateway's load on one deployment, reported to the deployment periodically and at once under
/// pressure (never per request) for its autoscaler: requests in flight on instances, requests waiting (queued or
/// held for a cold start), requests refused since the previous report (429/503 from admission), and what made the
/// gateway send it.</summary>
[GenerateSerializer, Immutable]
public sealed record GatewayLoad(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] int InFlight,
    [property: Id(2)] int Waiting,
    [property: Id(3)] long Refused,
    [property: Id(4)] LoadTrigger Trigger = LoadTrigger.PeriodicReport,
    [property: Id(5)] TimeSpan OldestWait = default);
