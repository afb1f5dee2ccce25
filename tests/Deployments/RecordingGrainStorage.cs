using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DeepDeploy.Tests.Deployments;

/// <summary>TEST DOUBLE around a silo's grain storage: tells the test about every state write that succeeded, with the
/// state as written (at that moment: a test copies what it needs before the grain changes it again).</summary>
public sealed class RecordingGrainStorage(IGrainStorage inner, Action<string, GrainId, object?> written) : IGrainStorage
{
    /// <summary>Wraps the provider registered last as <paramref name="name"/> (call it after the storage is added).</summary>
    public static void Around(ISiloBuilder silo, string name, Action<string, GrainId, object?> written)
    {
        var registered = silo.Services.Last(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, name) && d.KeyedImplementationFactory is not null);
        silo.Services.Remove(registered);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (provider, key) =>
            new RecordingGrainStorage((IGrainStorage)registered.KeyedImplementationFactory!(provider, key), written));
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await inner.WriteStateAsync(stateName, grainId, grainState);
        written(stateName, grainId, grainState.State);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
