namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>A candidate uniformly at random: a baseline for experiments.</summary>
public sealed class RandomPicker(Random random) : IInstancePicker
{
    public InstanceSlot Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context) =>
        candidates[random.Next(candidates.Length)];
}
