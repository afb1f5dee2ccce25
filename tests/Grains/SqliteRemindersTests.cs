using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Grains;

/// <summary>Orleans' ADO.NET reminders provider on our SQLite script (the embedded mode), and the deployments'
/// use of it: a live deployment holds a reminder, a deleted one lets it go.</summary>
public sealed class SqliteRemindersTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("deepdeploy-reminders-").FullName;

    string Connection => $"Data Source={Path.Combine(_directory, "state.db")}";

    async Task<InProcessTestCluster> StartClusterAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = "reminders";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseDeepDeploySqlite("test", Connection);
            silo.Configure<ReminderOptions>(o =>
            {
                o.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                o.RefreshReminderListPeriod = TimeSpan.FromSeconds(1);
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    [Fact]
    public async Task Reminder_table_reads_writes_ranges_and_etags()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var table = cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredService<IReminderTable>();
            var start = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
            var grains = Enumerable.Range(0, 6).Select(i => GrainId.Create("probe", $"g{i}")).ToArray();

            var etag = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "a", StartAt = start, Period = TimeSpan.FromMinutes(1) });
            var etag2 = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "a", StartAt = start, Period = TimeSpan.FromDays(40) });
            Assert.NotEqual(etag, etag2);
            var row = (await table.ReadRow(grains[0], "a"))!;
            Assert.Equal(start, row.StartAt.ToUniversalTime());
            Assert.Equal(TimeSpan.FromDays(40), row.Period);
            Assert.Equal(etag2, row.ETag);

            foreach (var grain in grains)
            {
                await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "b", StartAt = start, Period = TimeSpan.FromMinutes(2) });
            }

            Assert.Equal(2, (await table.ReadRows(grains[0])).Reminders.Count);

            // Signed 32-bit hashes, owned ranges (begin, end]: begin < end is plain, otherwise it wraps; begin == end is all.
            var hashes = grains.Select(g => (int)g.GetUniformHashCode()).Order().ToArray();
            var begin = hashes[0] - 1;
            var middle = hashes[2];
            var all = (await table.ReadRows((uint)middle, (uint)middle)).Reminders;
            Assert.Equal(grains.Length + 1, all.Count);
            var lower = (await table.ReadRows((uint)begin, (uint)middle)).Reminders;
            var upper = (await table.ReadRows((uint)middle, (uint)begin)).Reminders;
            Assert.Equal(all.Count, lower.Count + upper.Count);
            Assert.All(lower, r => Assert.InRange((int)r.GrainId.GetUniformHashCode(), begin + 1, middle));

            Assert.False(await table.RemoveRow(grains[0], "a", etag!));
            Assert.True(await table.RemoveRow(grains[0], "a", etag2!));
            Assert.Null(await table.ReadRow(grains[0], "a"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task A_reminder_fires_again_after_the_cluster_restarted()
    {
        var key = "sqlite-" + Guid.NewGuid().ToString("N");
        var cluster = await StartClusterAsync();
        await cluster.Client.GetGrain<IReminderProbeGrain>(key).StartAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => ReminderProbeGrain.Ticks.GetValueOrDefault(key) >= 1, TimeSpan.FromSeconds(30), "a first tick");
        await StopAsync(cluster);

        var before = ReminderProbeGrain.Ticks[key];
        cluster = await StartClusterAsync();
        try
        {
            // Nobody calls the grain: the reminder service loads it from SQLite and activates the grain.
            await Eventually.TrueAsync(() => ReminderProbeGrain.Ticks[key] > before, TimeSpan.FromSeconds(30), "a tick after the restart");
            await cluster.Client.GetGrain<IReminderProbeGrain>(key).StopAsync();
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task A_live_deployment_holds_a_reminder_and_a_deleted_one_lets_it_go()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("wes", gpuLimit: 8);
        var id = await sim.DeployAsync("wes", "kept", numGpus: 1, min: 1, max: 1);
        var table = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredService<IReminderTable>();
        var grainId = sim.Grains.GetGrain<IDeploymentGrain>(id).GetGrainId();
        await Eventually.TrueAsync(async () => (await table.ReadRows(grainId)).Reminders.Count == 1, TimeSpan.FromSeconds(30), "the reminder registered");

        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        Assert.True(await sim.Grains.GetGrain<IDeploymentGrain>(id).Delete());
        await Eventually.TrueAsync(async () => (await table.ReadRows(grainId)).Reminders.Count == 0, TimeSpan.FromSeconds(30), "the reminder removed");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
