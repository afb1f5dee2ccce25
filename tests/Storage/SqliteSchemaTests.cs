using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Tests.Storage;

[Trait("Category", "Unit")]
public sealed class SqliteSchemaTests : IDisposable
{
    readonly string _directory = Path.Combine(Path.GetTempPath(), "deepdeploy-sqlite-" + Guid.NewGuid().ToString("N"));

    string ConnectionString => $"Data Source={Path.Combine(_directory, "state", "orleans.db")}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public void Schema_is_idempotent_uses_wal_and_holds_the_provider_queries()
    {
        SqliteSchema.EnsureCreated(ConnectionString);
        SqliteSchema.EnsureCreated(ConnectionString); // second run must not fail or duplicate

        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)command.ExecuteScalar());

        command.CommandText = "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey;";
        var keys = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                keys.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["ClearStorageKey", "DeleteReminderRowKey", "DeleteReminderRowsKey", "DeleteStorageKey", "ReadFromStorageKey",
            "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey", "ReadReminderRowsKey", "UpsertReminderRowKey", "WriteToStorageKey"], keys);
        Assert.Equal(["main.sql", "persistence.sql", "reminders.sql"], SqliteSchema.ScriptNames);
    }
}
