namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Prefers instances that have not failed lately: each failure (refused connection, error before the first
/// byte, refusal) adds 1 to a count that halves every <see cref="HalfLife"/>; the score is 1 / (1 + count).</summary>
public sealed class RecentFailuresScorer : IInstanceScorer
{
    public static readonly TimeSpan HalfLife = TimeSpan.FromSeconds(30);

    public static readonly RecentFailuresScorer Instance = new();

    public string Name => "recent-failures";

    public double Score(InstanceSlot slot, in RoutingContext context) =>
        slot.Failures == 0 ? 1 : 1 / (1 + Decayed(slot.Failures, context.SecondsSince(slot.LastFailure)));

    /// <summary>A failure count of <paramref name="count"/> seen <paramref name="seconds"/> ago, as it counts now.</summary>
    public static double Decayed(double count, double seconds) =>
        seconds <= 0 ? count : count * Math.Pow(0.5, seconds / HalfLife.TotalSeconds);
}
