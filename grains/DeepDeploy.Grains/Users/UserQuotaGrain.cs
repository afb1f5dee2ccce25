using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains.Storage;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Users;

/// <summary>A user's GPU budget and names. One activation serialises every reservation, so concurrent
/// scale-ups can never exceed the limit.</summary>
public sealed class UserQuotaGrain(
    [PersistentState("user", StorageNames.Default)] IPersistentState<UserQuotaState> state,
    DeepCopier<UserQuotaState> copier,
    TimeProvider time) : Grain, IUserQuotaGrain
{
    readonly SavedState<UserQuotaState> _store = new(state, copier);

    UserQuotaState S => _store.State;

    public async Task<bool> Create(int gpuLimit)
    {
        if (S.Exists)
        {
            return false;
        }

        S.Exists = true;
        S.GpuLimit = gpuLimit;
        S.CreatedAt = time.GetUtcNow();
        await _store.WriteAsync();
        return true;
    }

    public Task<UserView?> Get() => Task.FromResult(S.Exists
        ? new UserView(this.GetPrimaryKeyString(), S.GpuLimit, S.Reservations.Values.Sum(), S.Deployments.ToArray(), S.CreatedAt,
            S.ModelNames.Count, MaxDeployments, S.MaxConcurrentRequests ?? UserLimits.DefaultMaxConcurrentRequests,
            S.MaxRequestBytes ?? UserLimits.DefaultMaxRequestBytes, S.MaxColdStartRequests ?? UserLimits.DefaultMaxColdStartRequests)
        : null);

    int MaxDeployments => S.MaxDeployments ?? UserLimits.DefaultMaxDeployments;

    public async Task<UserView?> SetLimits(UserLimits limits)
    {
        if (!S.Exists)
        {
            return null;
        }

        S.GpuLimit = limits.GpuLimit ?? S.GpuLimit;
        S.MaxDeployments = limits.MaxDeployments ?? S.MaxDeployments;
        S.MaxConcurrentRequests = limits.MaxConcurrentRequests ?? S.MaxConcurrentRequests;
        S.MaxRequestBytes = limits.MaxRequestBytes ?? S.MaxRequestBytes;
        S.MaxColdStartRequests = limits.MaxColdStartRequests ?? S.MaxColdStartRequests;
        await _store.WriteAsync();
        return await Get();
    }

    public async Task<bool> ClaimModelName(string modelName, string deployId)
    {
        if (S.ModelNames.TryGetValue(modelName, out var owner))
        {
            return owner == deployId;
        }

        // Checked here too, not only at admission: this activation serialises concurrent creates.
        if (S.ModelNames.Count >= MaxDeployments)
        {
            return false;
        }

        S.ModelNames[modelName] = deployId;
        if (!S.Deployments.Contains(deployId))
        {
            S.Deployments.Add(deployId);
        }

        await _store.WriteAsync();
        return true;
    }

    public async Task ReleaseModelName(string modelName, string deployId)
    {
        if (S.ModelNames.TryGetValue(modelName, out var owner) && owner == deployId)
        {
            S.ModelNames.Remove(modelName);
            await _store.WriteAsync();
        }
    }

    public Task<string?> FindDeployment(string modelName) =>
        Task.FromResult(S.ModelNames.GetValueOrDefault(modelName));

    public async Task<bool> TryReserveGpus(string instanceId, int gpus) => await TryReserveGpusForEach([instanceId], gpus) == 1;

    public Task ReleaseGpus(string instanceId) => ReleaseGpusOfEach([instanceId]);

    public async Task<int> TryReserveGpusForEach(IReadOnlyList<string> instanceIds, int gpus)
    {
        var reserved = 0;
        var changed = false;
        foreach (var instanceId in instanceIds)
        {
            if (!S.Reservations.ContainsKey(instanceId))
            {
                if (S.Reservations.Values.Sum() + gpus > S.GpuLimit)
                {
                    break;
                }

                S.Reservations[instanceId] = gpus;
                changed = true;
            }

            reserved++;
        }

        if (changed)
        {
            await _store.WriteAsync();
        }

        return reserved;
    }

    public async Task ReleaseGpusOfEach(IReadOnlyList<string> instanceIds)
    {
        var released = instanceIds.Count(S.Reservations.Remove);
        if (released > 0)
        {
            await _store.WriteAsync();
        }
    }
}
