namespace DeepDeploy.Contracts.Users;

/// <summary>One user, keyed by user name: GPU limit and reservations, deployments and their model names.</summary>
public interface IUserQuotaGrain : IGrainWithStringKey
{
    /// <summary>False when the user already exists.</summary>
    Task<bool> Create(int gpuLimit);

    Task<UserView?> Get();

    /// <summary>Sets the GPU limit. Running instances above a lowered limit keep running; new ones wait.</summary>
    Task<UserView?> SetGpuLimit(int gpuLimit);

    /// <summary>Claims a model name for a deployment; false when a live deployment already has it.</summary>
    Task<bool> ClaimModelName(string modelName, string deployId);

    Task ReleaseModelName(string modelName, string deployId);

    Task<string?> FindDeployment(string modelName);

    /// <summary>Reserves GPUs for an instance, atomically against the user's limit. Idempotent per instance.</summary>
    Task<bool> TryReserveGpus(string instanceId, int gpus);

    Task ReleaseGpus(string instanceId);
}
