namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Avoids an engine whose batch is full of other gateways' requests, so that its queue does not grow: what
/// this gateway learns of it is a busy refusal, after which the instance scores 0 until
/// <see cref="InstanceSlot.CeilingUntil"/> and then recovers linearly over as long again.</summary>
public sealed class EngineQueueScorer : IInstanceScorer
{
    public static readonly EngineQueueScorer Instance = new();

    public string Name => "engine-queue";

    public double Score(InstanceSlot slot, in RoutingContext context)
    {
        if (slot.CeilingSince == 0)
        {
            return 1;
        }

        var span = slot.CeilingUntil - slot.CeilingSince;
        var over = context.Now - slot.CeilingUntil;
        return over <= 0 ? 0 : span <= 0 || over >= span ? 1 : (double)over / span;
    }
}
