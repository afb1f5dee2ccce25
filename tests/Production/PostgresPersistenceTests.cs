using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Storage;
using Orleans.Configuration;

namespace DeepDeploy.Tests.Production;

/// <summary>The persistence contract on our PostgreSQL scripts, each test on a fresh database.</summary>
public sealed class PostgresPersistenceTests : PersistenceContract
{
    readonly SchemaDatabase _store = new();

    TestDatabase Database => _store.Database;

    public override Task InitializeAsync() => _store.CreateAsync();

    public override Task DisposeAsync() => _store.DropAsync();

    protected override void AddStorage(ISiloBuilder silo)
    {
        silo.AddDeepDeployPostgresStorage(StorageName, Database.ConnectionString);
        silo.AddAdoNetGrainStorage(DeleteOnClearStorageName, (AdoNetGrainStorageOptions o) =>
        {
            o.Invariant = StorageSetup.PostgresInvariant;
            o.ConnectionString = Database.ConnectionString;
            o.DeleteStateOnClear = true;
        });
    }

    protected override async Task<long> CountRowsAsync(string key) =>
        await Database.ScalarAsync<long>(
            $"SELECT count(*) FROM OrleansStorage WHERE ServiceId = '{ServiceId}' AND GrainIdExtensionString LIKE '%{key}';");

    protected override async Task<byte[]> PayloadAsync(string key) =>
        await Database.ScalarAsync<byte[]>(
            $"SELECT PayloadBinary FROM OrleansStorage WHERE ServiceId = '{ServiceId}' AND GrainIdExtensionString LIKE '%{key}';")
        ?? throw new InvalidOperationException($"no row for {key}");

    [PostgresFact]
    public Task Json_rows_of_older_versions_load_and_are_rewritten_binary() => JsonRowsLoadAndAreRewrittenBinaryAsync();

    [PostgresFact]
    public Task State_survives_a_cluster_restart() => RestartKeepsStateAsync();

    [PostgresFact]
    public Task Writes_with_a_stale_etag_are_rejected() => StaleETagsAreRejectedAsync();

    [PostgresFact]
    public Task Racing_first_inserts_let_exactly_one_win() => OneRacingInsertWinsAsync();

    [PostgresFact]
    public Task Clear_resets_state_keeps_versioning_and_survives_restart() => ClearKeepsVersioningAsync();

    [PostgresFact]
    public Task Delete_on_clear_removes_the_row_and_the_next_write_starts_over() => DeleteOnClearStartsOverAsync();
}
