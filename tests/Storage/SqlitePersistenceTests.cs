using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;

namespace DeepDeploy.Tests.Storage;

public sealed class SqlitePersistenceTests : IDisposable
{
    public const string StorageName = "deepdeploy";
    private const string DeleteOnClearStorageName = "deepdeploy-delete";

    private readonly string _directory;
    private readonly string _connectionString;
    private readonly string _serviceId = "svc-" + Guid.NewGuid().ToString("N");

    public SqlitePersistenceTests()
    {
        _directory = Path.Combine(Path.GetTempPath(), "deepdeploy-sqlite-" + Guid.NewGuid().ToString("N"));
        // A sub-directory that does not exist yet: EnsureCreated must create it.
        _connectionString = $"Data Source={Path.Combine(_directory, "state", "orleans.db")}";
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<InProcessTestCluster> StartClusterAsync(short silos = 1)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = _serviceId; // rows are keyed by ServiceId: keep it across clusters
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDeepDeploySqliteStorage(StorageName, _connectionString);
            silo.AddAdoNetGrainStorage(DeleteOnClearStorageName, (AdoNetGrainStorageOptions o) =>
            {
                o.Invariant = StorageSetup.SqliteInvariant;
                o.ConnectionString = _connectionString;
                o.DeleteStateOnClear = true;
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    private static IGrainStorage Storage(InProcessTestCluster cluster, string name) =>
        cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(name);

    [Fact]
    public void Schema_is_idempotent_uses_wal_and_holds_the_provider_queries()
    {
        SqliteSchema.EnsureCreated(_connectionString);
        SqliteSchema.EnsureCreated(_connectionString); // second run must not fail or duplicate

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)command.ExecuteScalar());

        command.CommandText = "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey;";
        var keys = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) keys.Add(reader.GetString(0));
        }

        Assert.Equal(["ClearStorageKey", "DeleteReminderRowKey", "DeleteReminderRowsKey", "DeleteStorageKey", "ReadFromStorageKey",
            "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey", "ReadReminderRowsKey", "UpsertReminderRowKey", "WriteToStorageKey"], keys);
        Assert.Equal(["main.sql", "persistence.sql", "reminders.sql"], SqliteSchema.ScriptNames);
    }

    [Fact]
    public async Task State_survives_a_cluster_restart_on_the_same_file()
    {
        var cluster = await StartClusterAsync();
        var written = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").SetAsync("hello", 7);
        Assert.Equal("1", written.ETag);
        written = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").SetAsync("hello again", 8);
        Assert.Equal("2", written.ETag);
        Assert.True(written.RecordExists);
        await StopAsync(cluster);

        cluster = await StartClusterAsync();
        try
        {
            var read = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").GetAsync();
            Assert.Equal(new NoteState { Text = "hello again", Count = 8 }, read.State);
            Assert.Equal("2", read.ETag);
            Assert.True(read.RecordExists);

            var untouched = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-never-written").GetAsync();
            Assert.Equal(new NoteState(), untouched.State);
            Assert.Null(untouched.ETag);
            Assert.False(untouched.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task Write_with_stale_etag_is_rejected()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-stale");
            Assert.Equal("1", (await grain.SetAsync("v1", 1)).ETag);

            // Someone else (another activation, an operator) writes the same record with the current ETag...
            var storage = Storage(cluster, StorageName);
            var other = new GrainState<NoteState>(new NoteState { Text = "other", Count = 99 }) { ETag = "1", RecordExists = true };
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), other);
            Assert.Equal("2", other.ETag);

            // ...so the grain's in-memory ETag "1" is stale: its write must fail and not overwrite.
            await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetAsync("lost update", 2));

            // A stale ETag through the provider directly, and an insert (null ETag) over an existing record.
            var stale = new GrainState<NoteState>(new NoteState { Text = "stale" }) { ETag = "1", RecordExists = true };
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), stale));
            var blind = new GrainState<NoteState>(new NoteState { Text = "blind insert" });
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), blind));

            var current = await grain.ReloadAsync();
            Assert.Equal(new NoteState { Text = "other", Count = 99 }, current.State);
            Assert.Equal("2", current.ETag);
            Assert.Equal("3", (await grain.SetAsync("after reload", 3)).ETag);

            // Clearing with a stale ETag fails as well.
            var staleClear = new GrainState<NoteState>(new NoteState()) { ETag = "2", RecordExists = true };
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), staleClear));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task Clear_resets_state_keeps_versioning_and_survives_restart()
    {
        var cluster = await StartClusterAsync();
        var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear");
        await grain.SetAsync("to be cleared", 5);
        var cleared = await grain.ClearAsync();
        Assert.Equal(new NoteState(), cleared.State);
        Assert.False(cleared.RecordExists);
        Assert.Equal("2", cleared.ETag); // ClearStorageKey keeps the row and bumps its version
        Assert.Equal("3", (await grain.SetAsync("written after clear", 6)).ETag);
        Assert.Equal("4", (await grain.ClearAsync()).ETag);
        await StopAsync(cluster);

        cluster = await StartClusterAsync();
        try
        {
            var read = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear").GetAsync();
            Assert.Equal(new NoteState(), read.State);
            Assert.Equal("4", read.ETag);
            Assert.Equal(1, CountRows("g-clear"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task Delete_on_clear_removes_the_row()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var storage = Storage(cluster, DeleteOnClearStorageName);
            var id = GrainId.Create("test", "g-delete");
            var state = new GrainState<NoteState>(new NoteState { Text = "x", Count = 1 });
            await storage.WriteStateAsync("note", id, state);
            Assert.Equal("1", state.ETag);
            Assert.Equal(1, CountRows("g-delete"));

            await storage.ClearStateAsync("note", id, state);
            Assert.Null(state.ETag);
            Assert.False(state.RecordExists);
            Assert.Equal(0, CountRows("g-delete"));

            state.State = new NoteState { Text = "y", Count = 2 };
            await storage.WriteStateAsync("note", id, state); // a fresh insert after the delete
            Assert.Equal("1", state.ETag);

            var reread = new GrainState<NoteState>(new NoteState());
            await storage.ReadStateAsync("note", id, reread);
            Assert.Equal(new NoteState { Text = "y", Count = 2 }, reread.State);
            Assert.Equal("1", reread.ETag);
            Assert.True(reread.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    private long CountRows(string key)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM OrleansStorage WHERE ServiceId = $s AND GrainIdExtensionString LIKE $k;";
        command.Parameters.AddWithValue("$s", _serviceId);
        command.Parameters.AddWithValue("$k", "%" + key);
        return (long)command.ExecuteScalar()!;
    }
}
