using DeepDeploy.Grains;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Billing;

/// <summary>A real Orleans test cluster whose grain state lives in a SQLite file, so that killed silos
/// lose exactly what the production store would lose.</summary>
public sealed class LedgerCluster : IAsyncDisposable
{
    readonly TempDirectory _directory = TempDirectory.Create("deepdeploy-ledger-");

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <param name="clock">The ledger's clock (e.g. a FakeTimeProvider, where time is the subject); the system clock by default.</param>
    public static async Task<LedgerCluster> StartAsync(short silos = 2, TimeProvider? clock = null)
    {
        var ledger = new LedgerCluster();
        var connection = $"Data Source={Path.Combine(ledger._directory.Path, "state.db")}";
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDeepDeploySqliteStorage(StorageNames.Default, connection);
            silo.Services.AddDeepDeployControlPlaneMetrics();
            if (clock is not null)
            {
                silo.Services.AddSingleton(clock);
            }
        });
        ledger.Cluster = builder.Build();
        await ledger.Cluster.DeployAsync();
        return ledger;
    }

    /// <summary>Starts a new silo, then SIGKILL-style kills the oldest one: grains on it are lost with
    /// whatever they had not written, and come back on another silo from storage.</summary>
    public async Task RotateAsync()
    {
        await Cluster.StartAdditionalSiloAsync();
        await Cluster.KillSiloAsync(Cluster.Silos[0]);
        await Cluster.WaitForLivenessToStabilizeAsync(didKill: true);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
