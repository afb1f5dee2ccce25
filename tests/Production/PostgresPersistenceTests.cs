using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Production;

/// <summary>The grain persistence contract (versions, conflicts, clear, delete) on our PostgreSQL scripts: the same
/// checks the SQLite store passes (tests/Storage), plus a racing first insert.</summary>
public sealed class PostgresPersistenceTests
{
    const string DeleteOnClearStorageName = "deepdeploy-delete";

    readonly string _serviceId = "svc-" + Guid.NewGuid().ToString("N");

    async Task<InProcessTestCluster> StartClusterAsync(TestDatabase database)
    {
        await PostgresSchema.EnsureCreatedAsync(database.ConnectionString);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = _serviceId; // rows are keyed by ServiceId: keep it across clusters
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDeepDeployPostgresStorage(SqlitePersistenceTests.StorageName, database.ConnectionString);
            silo.AddAdoNetGrainStorage(DeleteOnClearStorageName, (AdoNetGrainStorageOptions o) =>
            {
                o.Invariant = StorageSetup.PostgresInvariant;
                o.ConnectionString = database.ConnectionString;
                o.DeleteStateOnClear = true;
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

    static IGrainStorage Storage(InProcessTestCluster cluster, string name) =>
        cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(name);

    [PostgresFact]
    public async Task State_survives_a_cluster_restart_and_clear_keeps_versioning()
    {
        await using var database = await TestDatabase.CreateAsync();
        var cluster = await StartClusterAsync(database);
        var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart");
        Assert.Equal("1", (await grain.SetAsync("hello", 7)).ETag);
        Assert.Equal("2", (await grain.SetAsync("hello again", 8)).ETag);
        var cleared = cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear");
        await cleared.SetAsync("to be cleared", 5);
        Assert.Equal("2", (await cleared.ClearAsync()).ETag);
        Assert.Equal("3", (await cleared.SetAsync("after clear", 6)).ETag);
        Assert.Equal("4", (await cleared.ClearAsync()).ETag);
        await StopAsync(cluster);

        cluster = await StartClusterAsync(database);
        try
        {
            var read = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").GetAsync();
            Assert.Equal(new NoteState { Text = "hello again", Count = 8 }, read.State);
            Assert.Equal("2", read.ETag);
            Assert.True(read.RecordExists);

            var empty = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear").GetAsync();
            Assert.Equal(new NoteState(), empty.State);
            Assert.Equal("4", empty.ETag);
            Assert.False(empty.RecordExists);

            var never = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-never").GetAsync();
            Assert.Null(never.ETag);
            Assert.False(never.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [PostgresFact]
    public async Task Stale_etags_and_blind_inserts_are_rejected()
    {
        await using var database = await TestDatabase.CreateAsync();
        var cluster = await StartClusterAsync(database);
        try
        {
            var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-stale");
            Assert.Equal("1", (await grain.SetAsync("v1", 1)).ETag);

            var storage = Storage(cluster, SqlitePersistenceTests.StorageName);
            var other = new GrainState<NoteState>(new NoteState { Text = "other", Count = 99 }) { ETag = "1", RecordExists = true };
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), other);
            Assert.Equal("2", other.ETag);

            await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetAsync("lost update", 2));
            var blind = new GrainState<NoteState>(new NoteState { Text = "blind insert" });
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), blind));
            var staleClear = new GrainState<NoteState>(new NoteState()) { ETag = "1", RecordExists = true };
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), staleClear));

            var current = await grain.ReloadAsync();
            Assert.Equal(new NoteState { Text = "other", Count = 99 }, current.State);
            Assert.Equal("3", (await grain.SetAsync("after reload", 3)).ETag);

            // Two activations racing to create the same record (e.g. during a split): exactly one insert wins.
            var id = GrainId.Create("test", "g-race");
            var racers = Enumerable.Range(0, 8).Select(i => new GrainState<NoteState>(new NoteState { Text = $"racer {i}" })).ToList();
            var results = await Task.WhenAll(racers.Select(async r =>
            {
                try
                {
                    await storage.WriteStateAsync(PersistenceTestGrain.StateName, id, r);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            }));
            Assert.Equal(1, results.Count(ok => ok));
            Assert.Equal(1L, await database.ScalarAsync<long>($"SELECT count(*) FROM OrleansStorage WHERE ServiceId = '{_serviceId}' AND GrainIdExtensionString LIKE '%g-race';"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [PostgresFact]
    public async Task Delete_on_clear_removes_the_row_and_the_next_write_starts_over()
    {
        await using var database = await TestDatabase.CreateAsync();
        var cluster = await StartClusterAsync(database);
        try
        {
            var storage = Storage(cluster, DeleteOnClearStorageName);
            var id = GrainId.Create("test", "g-delete");
            var state = new GrainState<NoteState>(new NoteState { Text = "x", Count = 1 });
            await storage.WriteStateAsync("note", id, state);
            Assert.Equal("1", state.ETag);

            await storage.ClearStateAsync("note", id, state);
            Assert.Null(state.ETag);
            Assert.False(state.RecordExists);
            Assert.Equal(0L, await database.ScalarAsync<long>($"SELECT count(*) FROM OrleansStorage WHERE ServiceId = '{_serviceId}';"));

            state.State = new NoteState { Text = "y", Count = 2 };
            await storage.WriteStateAsync("note", id, state);
            Assert.Equal("1", state.ETag);
            var reread = new GrainState<NoteState>(new NoteState());
            await storage.ReadStateAsync("note", id, reread);
            Assert.Equal(new NoteState { Text = "y", Count = 2 }, reread.State);
            Assert.True(reread.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }
}
