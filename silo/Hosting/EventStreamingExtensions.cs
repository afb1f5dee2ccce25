using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains;
using Orleans.Providers;
using Orleans.Storage;

namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// The live side of deployment events and engine logs: Orleans memory streams (provider
/// <see cref="EventStreams.Provider"/>) on every silo and on gateway-only clients. The history (event-log grains)
/// is what is durable; a stream item lost with a silo is read back from it by sequence number, so no persistent
/// queue is needed. Subscriptions (the PubSubStore) live in the grain storage of everything else.
/// </summary>
public static class EventStreamingExtensions
{
    public static ISiloBuilder AddDeepDeployEventStreams(this ISiloBuilder silo)
    {
        silo.AddMemoryStreams(EventStreams.Provider);
        silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_PUBSUB_PROVIDER_NAME,
            (sp, _) => sp.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default));
        return silo;
    }

    public static IClientBuilder AddDeepDeployEventStreams(this IClientBuilder client) =>
        client.AddMemoryStreams(EventStreams.Provider);
}
