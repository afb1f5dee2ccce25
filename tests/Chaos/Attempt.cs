namespace DeepDeploy.Tests.Chaos;

/// <summary>One HTTP attempt of a logical request (<paramref name="Try"/> 0 is the first): when it ran, what the
/// client saw, and for an answer the usage it reported.</summary>
public sealed record Attempt(
    long RequestId,
    int Try,
    bool Stream,
    DateTime Start,
    DateTime End,
    AttemptOutcome Outcome,
    int Status,
    string Code,
    int CompletionTokens)
{
    /// <summary>The loss kinds the suite fails on (see <see cref="AttemptOutcome"/>).</summary>
    public bool IsLoss => Outcome is AttemptOutcome.Timeout or AttemptOutcome.Truncated or AttemptOutcome.Duplicated;

    /// <summary>"status code", as the client saw it (e.g. "503 deployment_unavailable", "reset").</summary>
    public string Seen => Outcome switch
    {
        AttemptOutcome.Error => $"{Status} {Code}",
        _ => Outcome.ToString().ToLowerInvariant(),
    };

    public bool InFlightAt(DateTime instant) => Start <= instant && End > instant;
}
