namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Each candidate in turn (the lane's cursor), whatever its load: a baseline for experiments.</summary>
public sealed class RoundRobinPicker : IInstancePicker
{
    public static readonly RoundRobinPicker Instance = new();

    public InstanceSlot Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context)
    {
        var turn = (uint)context.State.Cursor++;
        return candidates[(int)(turn % (uint)candidates.Length)];
    }
}
