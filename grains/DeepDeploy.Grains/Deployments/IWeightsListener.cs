namespace DeepDeploy.Grains.Deployments;

/// <summary>How a deployment grain receives the weights it asked for: the resolution runs off the grain's turn
/// (the hub may take long) and comes back as a call.</summary>
public interface IWeightsListener : IGrainWithStringKey
{
    /// <summary>The outcome of the resolution started for run <paramref name="run"/>; null when the resolver
    /// broke down (tried again at the next tick).</summary>
    Task OnWeightsResolved(int run, WeightsResolution? resolution);
}
