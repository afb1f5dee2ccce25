using System.Net;
using System.Net.Sockets;
using DeepDeploy.Grains;
using DeepDeploy.Silo.Hosting.Tls;
using DeepDeploy.Silo.Storage;
using Orleans.Configuration;

namespace DeepDeploy.Silo.Hosting;

public static class ClusteringExtensions
{
    /// <summary>Membership and grain state: PostgreSQL in production, localhost clustering and SQLite embedded.</summary>
    public static ISiloBuilder UseDeepDeployClustering(this ISiloBuilder silo, DeepDeployOptions options)
    {
        if (options.IsProduction)
        {
            silo.UseDeepDeployPostgres(StorageNames.Default, options.Database!);
            silo.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (options.ClusterId, options.ServiceId));
            if (options.AdvertisedAddress is { } advertised)
            {
                silo.ConfigureEndpoints(IPAddress.Parse(advertised), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
            }
            else
            {
                silo.ConfigureEndpoints(options.SiloPort, options.GatewayPort, AddressFamily.InterNetwork, listenOnAnyHostAddress: true);
            }
        }
        else
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            silo.UseDeepDeploySqlite(StorageNames.Default, $"Data Source={options.DatabasePath}");
        }

        silo.UseDeepDeployTls(options.Tls, options.IsProduction);
        silo.UseDeepDeployMembershipTiming();
        if (options.SiloName is { } siloName)
        {
            silo.Configure<SiloOptions>(s => s.SiloName = siloName);
        }

        return silo;
    }

    /// <summary>The gateway role alone: an Orleans client of the same cluster.</summary>
    public static IClientBuilder UseDeepDeployClustering(this IClientBuilder client, DeepDeployOptions options)
    {
        if (options.IsProduction)
        {
            client.UseDeepDeployPostgresClustering(options.Database!);
            client.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (options.ClusterId, options.ServiceId));
        }
        else
        {
            client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
        }

        client.UseDeepDeployTls(options.Tls, options.IsProduction);

        // A gateway may start before any silo: keep trying (the host starts serving once connected).
        client.UseConnectionRetryFilter(async (_, cancellationToken) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        });
        return client;
    }
}
