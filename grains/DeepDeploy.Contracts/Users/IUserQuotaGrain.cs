namespace DeepDeploy.Contracts.Users;

/// <summary>One user, keyed by user name: GPU limit and reservations, deployments and their model names.</summary>
public interface IUserQuotaGrain : IGrainWithStringKey
{
    /// <summary>False when the user already exists.</summary>
    Task<bool> Create(int gpuLimit);

    Task<UserView?> Get();

    /// <summary>Changes the limits given (GPUs, live deployments, concurrent requests); null when no such user.
    /// Running instances above a lowered GPU limit and deployments above a lowered deployment limit stay; new ones wait or are refused.</summary>
    Task<UserView?> SetLimits(UserLimits limits);

    /// <summary>Claims a model name for a deployment; false when a live deployment already has it, or when the
    /// user is at their live-deployment limit.</summary>
    Task<bool> ClaimModelName(string modelName, string deployId);

    Task ReleaseModelName(string modelName, string deployId);

    Task<string?> FindDeployment(string modelName);

    /// <summary>Reserves GPUs for an instance, atomically against the user's limit. Idempotent per instance.</summary>
    Task<bool> TryReserveGpus(string instanceId, int gpus);

    Task ReleaseGpus(string instanceId);

    /// <summary>Reserves <paramref name="gpus"/> GPUs for each instance in order, as many as the user's limit allows, with
    /// one write (a scale-up's instances at once); returns how many of the first instances hold a reservation. Idempotent per instance.</summary>
    Task<int> TryReserveGpusForEach(IReadOnlyList<string> instanceIds, int gpus);

    /// <summary>Releases the instances' reservations with one write.</summary>
    Task ReleaseGpusOfEach(IReadOnlyList<string> instanceIds);
}
