namespace DeepDeploy.Simulation.Gateway;

/// <summary>What became of one request, in simulated seconds. <see cref="Failure"/> is null when it was answered,
/// else the reason a client would have seen (the gateway's error code, or the admission outcome).</summary>
public sealed record RequestOutcome(double Arrival, string Model, int Gateway, string? Failure, double QueueWait, double TimeToFirstToken, double Latency);
