using Orleans.Storage;

namespace DeepDeploy.Silo.Storage;

/// <summary>The embedded mode's grain storage: its writes go through the file's <see cref="SqliteWriter"/>.</summary>
public sealed class SqliteWriteGate(IGrainStorage inner, SqliteWriter writer) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        writer.WriteAsync(() => inner.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        writer.WriteAsync(() => inner.ClearStateAsync(stateName, grainId, grainState));

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}
