using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Http;

/// <summary>Kestrel's socket transport as an operator setting (<see cref="SocketTransportOptions"/>:
/// UnsafePreferInlineScheduling, IOQueueCount, ...), so that a host's owner can apply what docs/gateway.md measured;
/// the bare Kestrel+YARP floor of the benchmark binds the same section.</summary>
public static class TransportSettings
{
    public const string Section = "DeepDeploy:Gateway:Sockets";

    public static IServiceCollection AddGatewayTransport(this IServiceCollection services)
    {
        services.AddOptions<SocketTransportOptions>().BindConfiguration(Section);
        return services;
    }
}
