using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Storage;
using Orleans.Configuration;
using Orleans.Hosting;

namespace DeepDeploy.Tests.Production;

/// <summary>The reminder contract on our PostgreSQL scripts, each test on a fresh database.</summary>
public sealed class PostgresRemindersTests : ReminderContract
{
    readonly SchemaDatabase _store = new();

    TestDatabase Database => _store.Database;

    public override Task InitializeAsync() => _store.CreateAsync();

    public override Task DisposeAsync() => _store.DropAsync();

    protected override void AddReminders(ISiloBuilder silo) =>
        silo.UseAdoNetReminderService((AdoNetReminderTableOptions o) =>
        {
            o.Invariant = StorageSetup.PostgresInvariant;
            o.ConnectionString = Database.ConnectionString;
        });

    protected override Task<long> CountRemindersAsync() =>
        Database.ScalarAsync<long>($"SELECT count(*) FROM OrleansRemindersTable WHERE ServiceId = '{ServiceId}';");

    [PostgresFact]
    public Task Reminder_table_reads_writes_ranges_and_etags() => TableReadsWritesRangesAndETagsAsync();

    [PostgresFact]
    public Task A_reminder_fires_and_fires_again_after_the_cluster_restarted() => FiresAgainAfterTheClusterRestartedAsync();
}
