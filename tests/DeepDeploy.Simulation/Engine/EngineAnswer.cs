namespace DeepDeploy.Simulation.Engine;

/// <summary>What a simulated engine did with one request, in simulated seconds from when it took it.</summary>
/// <param name="Refused">busy, loading or stopped (the real worker's X-DeepDeploy-Refused reasons, and a dead process);
/// null when it answered or failed mid-answer.</param>
/// <param name="Failed">The instance stopped while it answered (the client saw a cut answer).</param>
public readonly record struct EngineAnswer(string? Refused, bool Failed, double FirstTokenSeconds, double TotalSeconds);
