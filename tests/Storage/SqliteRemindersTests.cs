using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Tests.Storage;

/// <summary>The reminder contract on our SQLite script (the embedded mode's reminders).</summary>
public sealed class SqliteRemindersTests : ReminderContract
{
    readonly string _directory = Directory.CreateTempSubdirectory("deepdeploy-reminders-").FullName;

    string Connection => $"Data Source={Path.Combine(_directory, "state.db")}";

    public override Task InitializeAsync() => Task.CompletedTask;

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    protected override void AddReminders(ISiloBuilder silo) => silo.UseDeepDeploySqlite("test", Connection);

    protected override Task<long> CountRemindersAsync()
    {
        using var connection = new SqliteConnection(Connection);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM OrleansRemindersTable WHERE ServiceId = $s;";
        command.Parameters.AddWithValue("$s", ServiceId);
        return Task.FromResult((long)command.ExecuteScalar()!);
    }

    [Fact]
    public Task Reminder_table_reads_writes_ranges_and_etags() => TableReadsWritesRangesAndETagsAsync();

    [Fact]
    public Task A_reminder_fires_again_after_the_cluster_restarted() => FiresAgainAfterTheClusterRestartedAsync();
}
