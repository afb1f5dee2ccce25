using System.Net;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Gateway;
using DeepDeploy.LocalHub;
using DeepDeploy.Node;
using DeepDeploy.Node.Weights;
using DeepDeploy.Silo.Hosting.Health;
using DeepDeploy.Silo.Hosting.Telemetry;
using DeepDeploy.Silo.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Orleans.Dashboard;

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
        builder.Services.AddDeepDeployHealth(options, roles);

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DeepDeployOptions.DefaultUrl);
        }

        if (options.IsProduction && options.MigrateOnStart)
        {
            // Before Orleans starts: its providers read their queries from the schema at start-up.
            PostgresSchema.EnsureCreatedAsync(options.Database!, options.DatabaseWait).GetAwaiter().GetResult();
        }

        AddKeyRing(builder.Services, options);
        builder.AddDeepDeployTelemetry(roles);

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
            builder.UseOrleans(silo =>
            {
                silo.UseDeepDeployClustering(options);
                silo.AddDeepDeployControlPlane(roles.HasNode() ? builder.Configuration.ReadNodeOptions().Name : null);
                if (roles.HasNode())
                {
                    silo.AddDeepDeployNode(options.DataDir);
                }

                silo.AddDashboard();
                silo.AddActivityPropagation();
            });
        }
        else
        {
            // The gateway quotes prices; a silo's control plane reads the same section.
            builder.Services.Configure<GpuPrices>(builder.Configuration.GetSection(ControlPlaneSiloExtensions.PricesSection));
            builder.UseOrleansClient(client =>
            {
                client.UseDeepDeployClustering(options);
                client.AddDeepDeployConnectionHealth();
                client.AddDeepDeployEventStreams();
                client.AddDashboard();
                client.AddActivityPropagation();
            });
        }

        var app = builder.Build();
        app.MapGet("/health", () => Results.Ok(new { status = "ok", role = roles.Describe() }));
        app.MapDeepDeployHealth();
        if (roles.HasGateway())
        {
            app.UseDeepDeployGateway();
            // Bearer for API clients, the console's cookie for a signed-in operator's browser.
            app.MapOrleansDashboard("/dashboard").RequireAuthorization(p => p
                .AddAuthenticationSchemes(DeepDeploy.Gateway.Auth.ConsoleCookie.BrowserOrBearer).RequireRole(DeepDeploy.Gateway.Auth.Roles.Operator));
        }

        app.MapDeepDeployMetrics(roles);

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

    /// <summary>Gateways protect Hugging Face tokens, silos and nodes unprotect them: one key ring for all.</summary>
    static void AddKeyRing(IServiceCollection services, DeepDeployOptions options)
    {
        var dataProtection = services.AddDataProtection().SetApplicationName("DeepDeploy");
        if (options.IsProduction)
        {
            dataProtection.PersistKeysToPostgres(options.Database!);
        }
        else
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDir, "keys")));
        }
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
