using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;
using Orleans.Configuration;

namespace DeepDeploy.Tests.Storage;

/// <summary>The persistence contract on the SQLite store of the all-in-one host.</summary>
public sealed class SqlitePersistenceTests : PersistenceContract
{
    readonly string _directory = Path.Combine(Path.GetTempPath(), "deepdeploy-sqlite-" + Guid.NewGuid().ToString("N"));

    // A sub-directory that does not exist yet: the store must create it.
    string ConnectionString => $"Data Source={Path.Combine(_directory, "state", "orleans.db")}";

    public override Task InitializeAsync() => Task.CompletedTask;

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }

    protected override void AddStorage(ISiloBuilder silo)
    {
        silo.AddDeepDeploySqliteStorage(StorageName, ConnectionString);
        silo.AddAdoNetGrainStorage(DeleteOnClearStorageName, (AdoNetGrainStorageOptions o) =>
        {
            o.Invariant = StorageSetup.SqliteInvariant;
            o.ConnectionString = ConnectionString;
            o.DeleteStateOnClear = true;
        });
    }

    protected override Task<long> CountRowsAsync(string key) => Task.FromResult((long)Select("COUNT(*)", key)!);

    protected override Task<byte[]> PayloadAsync(string key) => Task.FromResult((byte[])Select("PayloadBinary", key)!);

    /// <summary>One value of this test's rows whose grain key ends with <paramref name="key"/>.</summary>
    object? Select(string what, string key)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {what} FROM OrleansStorage WHERE ServiceId = $s AND GrainIdExtensionString LIKE $k;";
        command.Parameters.AddWithValue("$s", ServiceId);
        command.Parameters.AddWithValue("$k", "%" + key);
        return command.ExecuteScalar();
    }

    [Fact]
    public Task Json_rows_of_older_versions_load_and_are_rewritten_binary() => JsonRowsLoadAndAreRewrittenBinaryAsync();

    [Fact]
    public Task State_survives_a_cluster_restart() => RestartKeepsStateAsync();

    [Fact]
    public Task Writes_with_a_stale_etag_are_rejected() => StaleETagsAreRejectedAsync();

    [Fact]
    public Task Racing_first_inserts_let_exactly_one_win() => OneRacingInsertWinsAsync();

    [Fact]
    public Task Clear_resets_state_keeps_versioning_and_survives_restart() => ClearKeepsVersioningAsync();

    [Fact]
    public Task Delete_on_clear_removes_the_row_and_the_next_write_starts_over() => DeleteOnClearStartsOverAsync();
}
