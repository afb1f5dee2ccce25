namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Rates an instance that passed the filters, from 0 (worst) to 1 (best); a policy weighs the scores.
/// Runs under the lane's lock: no I/O, no allocation. A prefix-affinity scorer is one of these (it reads
/// <see cref="RoutingContext.Body"/> and keeps its own per-instance index).</summary>
public interface IInstanceScorer
{
    string Name { get; }

    double Score(InstanceSlot slot, in RoutingContext context);
}
