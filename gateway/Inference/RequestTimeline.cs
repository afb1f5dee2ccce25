using System.Diagnostics;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// One inference request's stage boundaries (an HttpContext feature): each <see cref="End(string)"/> records the
/// time since the previous boundary as <c>deepdeploy.gateway.stage.duration</c>. Set only when someone listens to
/// that histogram, so that it costs nothing when metrics are off.
/// </summary>
public sealed class RequestTimeline(InferenceMetrics metrics, long arrived)
{
    long _mark = arrived;

    /// <summary>Ends <paramref name="stage"/> now.</summary>
    public void End(string stage) => End(stage, Stopwatch.GetTimestamp());

    /// <summary>Ends <paramref name="stage"/> at <paramref name="timestamp"/> (a Stopwatch timestamp).</summary>
    public void End(string stage, long timestamp)
    {
        metrics.Stage(stage, Stopwatch.GetElapsedTime(_mark, timestamp));
        _mark = timestamp;
    }
}
