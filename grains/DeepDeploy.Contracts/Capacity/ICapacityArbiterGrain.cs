namespace DeepDeploy.Contracts.Capacity;

/// <summary>
/// One per GPU type (key: the type's name): shares the type's free GPUs between the deployments that want more
/// instances than they run, fairly between users. Deployments tell it what they hold (on change) and ask before
/// placing an instance; the free GPUs go first to the waiting deployment whose owner holds the fewest GPUs of the
/// type (max-min), ties by wait time. It calls no deployment: a deployment polls its grant on its own tick.
/// </summary>
public interface ICapacityArbiterGrain : IGrainWithStringKey
{
    /// <summary>Records the deployment's holding and demand; when it wants more than it runs, says how many more
    /// instances it may place now (0: wait, with why).</summary>
    Task<CapacityGrant> Claim(CapacityClaim claim);

    /// <summary>The waiting deployments in the order the next free GPUs go to them: the operator's view.</summary>
    Task<IReadOnlyList<CapacityWaiter>> Queue();
}
