using DeepDeploy.Contracts.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Wraps a grain storage provider so that a database or disk that does not answer surfaces as
/// <see cref="StorageUnavailableException"/> (which every cluster client can read and the gateway maps to a 503)
/// instead of a driver's exception (which Orleans cannot serialise to a client, and which may name a host path).
/// The driver's exception is logged here. A version conflict stays <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class UnavailableStorageTranslation(IGrainStorage inner, string name, ILogger<UnavailableStorageTranslation> log)
    : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync("read", stateName, grainId, () => inner.ReadStateAsync(stateName, grainId, grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync("write", stateName, grainId, () => inner.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync("clear", stateName, grainId, () => inner.ClearStateAsync(stateName, grainId, grainState));

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    async Task TranslateAsync(string operation, string stateName, GrainId grainId, Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not (InconsistentStateException or StorageUnavailableException or OperationCanceledException))
        {
            log.LogWarning(e, "Storage {Name} could not {Operation} {State} of {Grain}", name, operation, stateName, grainId);
            throw new StorageUnavailableException($"Storage is unavailable: could not {operation} the grain's state.");
        }
    }
}
