using System.Net;
using System.Net.Sockets;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Gateway;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Silo.ModelHub;
using DeepDeploy.Silo.Nodes;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Silo.Weights;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// A DeepDeploy process. By default the all-in-one host: a silo with localhost clustering and SQLite storage,
/// the gateway, the local model hub and this machine's GPU node, in one process. <c>--role</c> picks a part
/// (control silo, GPU-node silo, gateway as an Orleans client) and <c>DEEPDEPLOY_DATABASE</c> moves state,
/// membership and reminders to PostgreSQL (see <see cref="DeepDeployOptions"/> and <see cref="HostRoles"/>).
/// </summary>
public static class DeepDeployHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var options = DeepDeployOptions.Read(builder.Configuration);
        HostRoles roles;
        try
        {
            roles = HostRolesParser.Parse(options.Role);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(e.Message);
        }

        var serveHub = roles.HasGateway() && (options.LocalHub ?? roles.IsAllInOne());
        Validate(options, roles, serveHub);
        Directory.CreateDirectory(options.DataDir);
        builder.Services.AddSingleton(options);

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DeepDeployOptions.DefaultUrl);
        }

        if (options.IsProduction && options.MigrateOnStart)
        {
            // Before Orleans starts: its providers read their queries from the schema at start-up.
            PostgresSchema.EnsureCreatedAsync(options.Database!, options.DatabaseWait).GetAwaiter().GetResult();
        }

        // Gateways protect Hugging Face tokens, silos and nodes unprotect them: one key ring for all.
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("DeepDeploy");
        if (options.IsProduction)
        {
            dataProtection.PersistKeysToPostgres(options.Database!);
        }
        else
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDir, "keys")));
        }

        builder.Services.AddHttpClient();
        builder.Services.Configure<GpuPrices>(builder.Configuration.GetSection("DeepDeploy:Prices"));
        builder.Services.Configure<AutoscalerOptions>(builder.Configuration.GetSection("DeepDeploy:Autoscaler"));

        if (roles.HasGateway())
        {
            var adminToken = AdminTokenStore.LoadOrCreate(options.DataDir, options.AdminToken, Console.Out);
            builder.Services.AddDeepDeployGateway(g =>
            {
                g.AdminToken = adminToken;
                g.DefaultGpuLimit = options.DefaultGpuLimit;
            });
        }

        if (roles.HasSilo())
        {
            var node = builder.Configuration.GetSection("DeepDeploy:Node").Get<NodeOptions>() ?? new NodeOptions();
            builder.Services.AddSingleton(new HfEndpoint(options.HfEndpoint)
            {
                DefaultToken = string.IsNullOrWhiteSpace(builder.Configuration["HF_TOKEN"]) ? null : builder.Configuration["HF_TOKEN"]!.Trim(),
            });
            builder.Services.AddSingleton<IWeightsResolver, HubWeightsResolver>();
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, LostNodeWaker>();
            if (roles.HasNode())
            {
                builder.Services.Configure<NodeOptions>(builder.Configuration.GetSection("DeepDeploy:Node"));
                builder.Services.AddSingleton(new NodePaths(options.DataDir, node.Name));
                builder.Services.AddSingleton<WeightsCache>();
                builder.Services.AddSingleton<NodeAgent>();
                builder.Services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<NodeAgent>());
                builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeAgent>());
            }

            builder.UseOrleans(silo =>
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

                if (options.SiloName is { } siloName)
                {
                    silo.Configure<SiloOptions>(s => s.SiloName = siloName);
                }

                // Every silo places GpuNode grains (the director reads the metadata), only node silos host them.
                silo.UseSiloMetadata(roles.HasNode()
                    ? new Dictionary<string, string> { [NodeHostPlacementStrategy.MetadataKey] = node.Name }
                    : new Dictionary<string, string>());
                silo.AddPlacementDirector<NodeHostPlacementStrategy, NodeHostPlacementDirector>();
                silo.AddDashboard();
            });
        }
        else
        {
            builder.UseOrleansClient(client =>
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

                // A gateway may start before any silo: keep trying (the host starts serving once connected).
                client.UseConnectionRetryFilter(async (_, cancellationToken) =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    return true;
                });
                client.AddDashboard();
            });
        }

        var app = builder.Build();
        app.MapGet("/health", () => Results.Ok(new { status = "ok", role = roles.Describe() }));
        if (roles.HasGateway())
        {
            app.UseDeepDeployGateway();
            app.MapOrleansDashboard("/dashboard").RequireAuthorization(p => p.RequireRole(DeepDeploy.Gateway.Auth.Roles.Operator));
        }

        if (serveHub)
        {
            LocalHubSeeder.EnsureSeeded(options.HubDirectory);
            app.MapLocalHub("/hub", options.HubDirectory);
        }

        if (roles.HasSilo() && options.HfEndpoint is null)
        {
            // Validate guarantees this process serves the hub itself.
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                app.Services.GetRequiredService<HfEndpoint>().SetLocal(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1").TrimEnd('/') + "/hub");
            });
        }

        return app;
    }

    /// <summary>Refuses, at start and in plain words, the settings a split deployment cannot work with.</summary>
    static void Validate(DeepDeployOptions options, HostRoles roles, bool serveHub)
    {
        if (roles.HasSilo() && options.HfEndpoint is null && !serveHub)
        {
            throw new ConfigurationException(
                $"HF_ENDPOINT is not set. A '{roles.Describe()}' process resolves and downloads weights from a Hugging Face hub, and only "
                + "the all-in-one host (--role all) serves its own local hub: set HF_ENDPOINT, e.g. HF_ENDPOINT=https://huggingface.co, "
                + "or the URL of a hub mirror.");
        }

        if (roles.HasGateway() && !roles.IsAllInOne() && options.AdminToken is null)
        {
            throw new ConfigurationException(
                $"DEEPDEPLOY_ADMIN_TOKEN is not set. A '{roles.Describe()}' process must accept the same operator token as every other "
                + "gateway of the cluster, so it does not generate one: set DEEPDEPLOY_ADMIN_TOKEN (the same secret on every gateway).");
        }

        if (options.AdvertisedAddress is { } address && !IPAddress.TryParse(address, out _))
        {
            throw new ConfigurationException($"The advertised address (POD_IP / DeepDeploy:AdvertisedAddress) '{address}' is not an IP address.");
        }
    }
}
