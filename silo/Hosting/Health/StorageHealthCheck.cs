using System.Data.Common;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>Healthy when the grain-state database answers a read of the grain-state table (SQLite embedded,
/// PostgreSQL in production).</summary>
public sealed class StorageHealthCheck(DbProviderFactory factory, string connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = factory.CreateConnection()!;
            connection.ConnectionString = connectionString;
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1 FROM OrleansStorage LIMIT 1";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("grain storage answers");
        }
        catch (Exception)
        {
            // Whatever the driver throws, the database does not answer. The exception stays out of the report:
            // its message may name hosts, users or paths.
            return HealthCheckResult.Unhealthy("grain storage does not answer");
        }
    }
}
