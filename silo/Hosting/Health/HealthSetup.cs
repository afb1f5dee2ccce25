using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>
/// The probes of every role: <c>/health/live</c> (the process answers; no check), <c>/health/startup</c> (this
/// process finished joining: cluster, node registered, first routes) and <c>/health/ready</c> (the startup checks
/// still hold and storage answers). Anonymous; the body lists each check's name, status and a fixed description.
/// </summary>
public static class HealthSetup
{
    public const string Ready = "ready";
    public const string Startup = "startup";

    /// <summary>A probe that hangs is a failed probe: storage gets this long.</summary>
    static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddDeepDeployHealth(this IServiceCollection services, DeepDeployOptions options, HostRoles roles)
    {
        var checks = services.AddHealthChecks();
        if (roles.HasSilo())
        {
            checks.AddCheck<SiloMembershipHealthCheck>("cluster", tags: [Startup, Ready]);
            var (factory, connectionString) = options.IsProduction
                ? ((DbProviderFactory)NpgsqlFactory.Instance, options.Database!)
                : (SqliteFactory.Instance, $"Data Source={options.DatabasePath};Mode=ReadWrite");
            checks.Add(new HealthCheckRegistration("storage", _ => new StorageHealthCheck(factory, connectionString),
                HealthStatus.Unhealthy, [Ready], CheckTimeout));
        }
        else
        {
            checks.AddCheck<ClusterConnectionHealthCheck>("cluster", tags: [Startup, Ready]);
        }

        if (roles.HasNode())
        {
            checks.AddCheck<NodeAgentHealthCheck>("node", tags: [Startup, Ready]);
        }

        if (roles.HasGateway())
        {
            checks.AddCheck<RoutesHealthCheck>("routes", tags: [Startup, Ready]);
        }

        return services;
    }

    /// <summary>The gateway role alone learns of lost and regained cluster connections through this observer.</summary>
    public static IClientBuilder AddDeepDeployConnectionHealth(this IClientBuilder client)
    {
        var status = new ClusterConnectionStatus();
        client.Services.AddSingleton(status);
        return client.AddClusterConnectionStatusObserver(status);
    }

    public static void MapDeepDeployHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", Options(_ => false)).AllowAnonymous();
        app.MapHealthChecks("/health/startup", Options(c => c.Tags.Contains(Startup))).AllowAnonymous();
        app.MapHealthChecks("/health/ready", Options(c => c.Tags.Contains(Ready))).AllowAnonymous();
    }

    static HealthCheckOptions Options(Func<HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = HealthResponse.WriteAsync,
    };
}
