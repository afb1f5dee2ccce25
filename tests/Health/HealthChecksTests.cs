using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Silo.Hosting.Health;
using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DeepDeploy.Tests.Health;

/// <summary>The checks the probes run, each against the condition it names.</summary>
[Trait("Category", "Unit")]
public sealed class HealthChecksTests
{
    [Fact]
    public async Task Storage_is_healthy_on_a_database_with_the_schema_and_unhealthy_without_one_saying_nothing_of_the_path()
    {
        var directory = Directory.CreateTempSubdirectory("deepdeploy-health-").FullName;
        try
        {
            var path = Path.Combine(directory, "state.db");
            SqliteSchema.EnsureCreated($"Data Source={path}");
            var present = await CheckAsync(new StorageHealthCheck(SqliteFactory.Instance, $"Data Source={path};Mode=ReadWrite"));
            Assert.Equal(HealthStatus.Healthy, present.Status);

            var missing = Path.Combine(directory, "gone", "state.db");
            var absent = await CheckAsync(new StorageHealthCheck(SqliteFactory.Instance, $"Data Source={missing};Mode=ReadWrite"));
            Assert.Equal(HealthStatus.Unhealthy, absent.Status);
            Assert.DoesNotContain(directory, absent.Description);
            Assert.Null(absent.Exception);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Storage_is_unhealthy_when_PostgreSQL_does_not_answer()
    {
        var connection = $"Host=127.0.0.1;Port={Ports.Free()};Username=deepdeploy;Password=secret-pw;Database=deepdeploy;Timeout=3";
        var result = await CheckAsync(new StorageHealthCheck(NpgsqlFactory.Instance, connection));
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.DoesNotContain("secret-pw", result.Description);
    }

    [Fact]
    public async Task Routes_are_unhealthy_until_the_first_snapshot_arrives()
    {
        var table = new RouteTable(Options.Create(new InferenceOptions()), TimeProvider.System, new GatewayIdentity(), null!, NullLogger<RouteTable>.Instance);
        var check = new RoutesHealthCheck(table);
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(check)).Status);

        table.Apply(new RouteTableUpdate(Guid.NewGuid(), 1, true,
            [new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 1, 1, [new RouteInstance("i1", "http://127.0.0.1:1")], 1)], [], []));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);
    }

    [Fact]
    public void A_client_connection_is_lost_when_the_cluster_says_so_and_back_with_a_gateway()
    {
        var status = new ClusterConnectionStatus();
        Assert.True(status.Connected);
        status.NotifyClusterConnectionLost();
        Assert.False(status.Connected);
        status.NotifyGatewayCountChanged(1, 0, connectionRecovered: true);
        Assert.True(status.Connected);
        status.NotifyGatewayCountChanged(0, 1, connectionRecovered: false);
        Assert.False(status.Connected);
    }

    static Task<HealthCheckResult> CheckAsync(IHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("x", check, null, null) });
}
