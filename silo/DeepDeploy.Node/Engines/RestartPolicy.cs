namespace DeepDeploy.Node.Engines;

/// <summary>When a crashed or unhealthy engine is restarted in place: with exponential backoff, at most
/// <see cref="NodeOptions.MaxRestarts"/> times in a row; a long healthy run starts the count afresh.</summary>
public sealed class RestartPolicy(NodeOptions options)
{
    /// <summary>Restarts counted so far for an engine that just stopped serving after <paramref name="ranFor"/>.</summary>
    public int Count(int restarts, TimeSpan ranFor) => ranFor > options.HealthyRunResetsRestarts ? 0 : restarts;

    public bool GivesUp(int restarts) => restarts >= options.MaxRestarts;

    /// <summary>The delay before restart number <paramref name="restarts"/> + 1: doubled each time, capped.</summary>
    public TimeSpan Backoff(int restarts) =>
        TimeSpan.FromTicks(Math.Min(options.RestartBackoff.Ticks << Math.Min(restarts, 30), options.MaxRestartBackoff.Ticks));
}
