using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Tests.Production;

public sealed class PostgresSchemaTests
{
    /// <summary>The query keys the 10.4.2 providers read from OrleansQuery (clustering, reminders, persistence).</summary>
    static readonly string[] ProviderKeys =
    [
        "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "InsertMembershipKey",
        "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "UpdateIAmAlivetimeKey", "UpdateMembershipKey",
        "DeleteReminderRowKey", "DeleteReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey",
        "ReadReminderRowsKey", "UpsertReminderRowKey",
        "ClearStorageKey", "DeleteStorageKey", "ReadFromStorageKey", "WriteToStorageKey",
    ];

    [Fact]
    public void Scripts_are_embedded_main_first()
    {
        Assert.Equal(["main.sql", "clustering.sql", "dataprotection.sql", "persistence.sql", "reminders.sql"], PostgresSchema.ScriptNames);
    }

    [PostgresFact]
    public async Task Schema_applies_concurrently_and_again_and_holds_every_query_the_providers_read()
    {
        await using var database = await TestDatabase.CreateAsync();

        // Four processes starting at once, then a restart: the advisory lock and idempotent scripts make it a no-op.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresSchema.EnsureCreatedAsync(database.ConnectionString)));
        var applied = await PostgresSchema.EnsureCreatedAsync(database.ConnectionString);

        Assert.Equal(PostgresSchema.ScriptNames, applied);
        Assert.Equal(ProviderKeys.Order(StringComparer.Ordinal), await database.ColumnAsync("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\";"));
        Assert.Equal(["clustering", "dataprotection", "main", "persistence", "reminders"],
            await database.ColumnAsync("SELECT Component FROM DeepDeploySchema ORDER BY Component;"));
        Assert.Equal(
            ["deepdeploydataprotectionkeys", "deepdeployschema", "orleansmembershiptable", "orleansmembershipversiontable", "orleansquery", "orleansreminderstable", "orleansstorage"],
            await database.ColumnAsync("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;"));
    }

    [PostgresFact]
    public async Task Migrate_command_applies_the_schema_to_the_configured_database_and_reports_an_unreachable_one()
    {
        await using var database = await TestDatabase.CreateAsync();
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.Equal(0, await MigrateCommand.RunAsync([$"--DeepDeploy:Database={database.ConnectionString}"], output, error));
        Assert.Contains("PostgreSQL schema applied: main.sql, clustering.sql", output.ToString());
        Assert.Equal(ProviderKeys.Length, await database.ScalarAsync<long>("SELECT count(*) FROM OrleansQuery;"));

        var unreachable = "Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2";
        Assert.Equal(1, await MigrateCommand.RunAsync([$"--DeepDeploy:Database={unreachable}", "--DeepDeploy:DatabaseWait=00:00:00"], output, error));
        Assert.Contains("migrate failed", error.ToString());
    }

    [Fact]
    public async Task Migrate_command_without_a_database_applies_the_sqlite_schema_in_the_data_directory()
    {
        var dataDir = Directory.CreateTempSubdirectory("deepdeploy-migrate-").FullName;
        try
        {
            var output = new StringWriter();
            Assert.Equal(0, await MigrateCommand.RunAsync([$"--DEEPDEPLOY_DATA_DIR={dataDir}"], output, new StringWriter()));
            Assert.Contains("SQLite schema applied", output.ToString());

            await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "deepdeploy.db")}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM OrleansQuery;";
            Assert.Equal(4L + 7L, await command.ExecuteScalarAsync()); // persistence and reminders queries
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
