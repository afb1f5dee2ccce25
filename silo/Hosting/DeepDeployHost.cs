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
using Orleans.Dashboard;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace DeepDeploy.Silo.Hosting;

/// <summary>The all-in-one host: a silo with localhost clustering and SQLite storage, the gateway, the local
/// model hub and this machine's GPU node, in one process.</summary>
public static class DeepDeployHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var options = builder.Configuration.GetSection("DeepDeploy").Get<DeepDeployOptions>() ?? new DeepDeployOptions();
        options.DataDir = builder.Configuration["DEEPDEPLOY_DATA_DIR"] ?? options.DataDir;
        options.AdminToken = builder.Configuration["DEEPDEPLOY_ADMIN_TOKEN"] ?? options.AdminToken;
        options.HfEndpoint = builder.Configuration["HF_ENDPOINT"] ?? options.HfEndpoint;
        options.DataDir = Path.GetFullPath(options.DataDir);
        Directory.CreateDirectory(options.DataDir);
        builder.Services.AddSingleton(options);

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DeepDeployOptions.DefaultUrl);
        }

        var adminToken = AdminTokenStore.LoadOrCreate(options.DataDir, options.AdminToken, Console.Out);
        builder.Services.AddDeepDeployGateway(g =>
        {
            g.AdminToken = adminToken;
            g.DefaultGpuLimit = options.DefaultGpuLimit;
        });
        builder.Services.AddDataProtection()
            .SetApplicationName("DeepDeploy")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDir, "keys")));
        builder.Services.AddHttpClient();
        builder.Services.Configure<GpuPrices>(builder.Configuration.GetSection("DeepDeploy:Prices"));
        builder.Services.Configure<AutoscalerOptions>(builder.Configuration.GetSection("DeepDeploy:Autoscaler"));

        var node = builder.Configuration.GetSection("DeepDeploy:Node").Get<NodeOptions>() ?? new NodeOptions();
        builder.Services.Configure<NodeOptions>(builder.Configuration.GetSection("DeepDeploy:Node"));
        builder.Services.AddSingleton(new NodePaths(options.DataDir, node.Name));
        builder.Services.AddSingleton(new HfEndpoint(options.HfEndpoint));
        builder.Services.AddSingleton<IWeightsResolver, HubWeightsResolver>();
        builder.Services.AddSingleton<WeightsCache>();
        builder.Services.AddSingleton<NodeAgent>();
        builder.Services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<NodeAgent>());
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeAgent>());
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DeploymentWaker>();

        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            silo.AddDeepDeploySqliteStorage(StorageNames.Default, $"Data Source={options.DatabasePath}");
            silo.UseSiloMetadata(new Dictionary<string, string> { [NodeHostPlacementStrategy.MetadataKey] = node.Name });
            silo.AddPlacementDirector<NodeHostPlacementStrategy, NodeHostPlacementDirector>();
            silo.AddDashboard();
        });

        var app = builder.Build();
        app.UseDeepDeployGateway();
        app.MapOrleansDashboard("/dashboard").RequireAuthorization(p => p.RequireRole(DeepDeploy.Gateway.Auth.Roles.Operator));
        LocalHubSeeder.EnsureSeeded(options.HubDirectory);
        app.MapLocalHub("/hub", options.HubDirectory);
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            app.Services.GetRequiredService<HfEndpoint>().SetLocal(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1").TrimEnd('/') + "/hub");
        });
        return app;
    }
}
