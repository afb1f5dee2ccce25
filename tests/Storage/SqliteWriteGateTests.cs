using System.Threading.Channels;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Support;
using Orleans.Storage;

namespace DeepDeploy.Tests.Storage;

/// <summary>The SQLite storage's write gate: a process writes its database file one state at a time and the other writers
/// wait without holding a thread (before, each got SQLITE_BUSY and slept a thread-pool thread in 150 ms steps); reads pass
/// while a write is in flight.</summary>
[Trait("Category", "Unit")]
public sealed class SqliteWriteGateTests
{
    [Fact]
    public async Task Writes_to_one_file_go_one_at_a_time_and_reads_pass_them()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gate-{Guid.NewGuid():N}.db");
        var inner = new HeldStorage();
        IGrainStorage silo1 = new SqliteWriteGate(inner, SqliteWriter.For($"Data Source={file}"));
        IGrainStorage silo2 = new SqliteWriteGate(inner, SqliteWriter.For($"Data Source={file};Cache=Shared"));

        var writes = Enumerable.Range(0, 3)
            .Select(i => (i % 2 == 0 ? silo1 : silo2).WriteStateAsync("s", GrainId.Create("t", $"{i}"), new GrainState<string>("x")))
            .ToArray();
        for (var i = 0; i < writes.Length; i++)
        {
            var started = await inner.Started.Reader.ReadAsync();
            Assert.Equal(1, inner.InFlight);
            Assert.False(inner.Started.Reader.TryPeek(out _), "a second write started while one was in flight");

            await silo2.ReadStateAsync("s", GrainId.Create("t", "r"), new GrainState<string>("x"));
            started.SetResult();
        }

        await Task.WhenAll(writes);
        Assert.Equal(0, inner.InFlight);
    }

    [Fact]
    public async Task A_write_is_acknowledged_after_a_log_sync_that_began_after_it_and_the_next_write_need_not_wait_for_it()
    {
        var inner = new HeldStorage();
        var log = new HeldSync();
        IGrainStorage gate = new SqliteWriteGate(inner, new SqliteWriter(log.Sync));

        var first = gate.WriteStateAsync("s", GrainId.Create("t", "1"), new GrainState<string>("x"));
        (await Next(inner.Started)).SetResult();
        var firstSync = await Next(log.Started);

        // The log sync of the first write runs; the second write goes to storage meanwhile and waits for the next sync.
        var second = gate.WriteStateAsync("s", GrainId.Create("t", "2"), new GrainState<string>("x"));
        (await Next(inner.Started)).SetResult();
        Assert.False(first.IsCompleted, "acknowledged before its commit was synced");
        firstSync.SetResult();
        await first;
        var secondSync = await Next(log.Started);
        Assert.False(second.IsCompleted, "acknowledged by a sync that began before its commit");
        secondSync.SetResult();
        await second;
    }

    [Fact]
    public async Task Reminder_writes_take_their_turn_with_the_grain_state_writes()
    {
        var inner = new HeldStorage();
        var writer = new SqliteWriter(new WalSync(() => { }));
        IGrainStorage state = new SqliteWriteGate(inner, writer);
        var table = new RecordingReminders();
        IReminderTable reminders = new SqliteReminderGate(table, writer);

        var write = state.WriteStateAsync("s", GrainId.Create("t", "1"), new GrainState<string>("x"));
        var held = await Next(inner.Started);
        var upsert = reminders.UpsertRow(new ReminderEntry { GrainId = GrainId.Create("t", "1"), ReminderName = "r" });
        Assert.Equal(0, table.Upserts);
        held.SetResult();
        await write;
        Assert.Equal("1", await upsert.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, table.Upserts);
    }

    [Fact]
    public async Task A_silo_on_the_embedded_store_keeps_a_floor_of_pool_threads_for_its_blocking_io()
    {
        var builder = new Orleans.TestingHost.InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddDeepDeploySqliteStorage("floor", $"Data Source={Path.Combine(Path.GetTempPath(), $"floor-{Guid.NewGuid():N}.db")}"));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        ThreadPool.GetMinThreads(out var workers, out _);
        Assert.True(workers >= SqliteThreadReserve.MinWorkerThreads, $"{workers} worker threads at least");
        await cluster.StopAllSilosAsync();
    }

    [Fact]
    public async Task Calls_made_while_a_log_sync_runs_share_the_next()
    {
        var log = new HeldSync();
        var first = log.Sync.SyncedAsync();
        var running = await Next(log.Started);
        var waiting = Enumerable.Range(0, 5).Select(_ => log.Sync.SyncedAsync()).ToArray();
        running.SetResult();
        await first;

        (await Next(log.Started)).SetResult();
        await Task.WhenAll(waiting);
        Assert.Equal(2, log.Count);
    }

    [Fact]
    public void The_state_connections_commit_without_syncing_the_log()
    {
        var file = Path.Combine(Path.GetTempPath(), $"sync-{Guid.NewGuid():N}.db");
        using var source = new SqliteStateDataSource($"Data Source={file};Pooling=False");
        using var connection = source.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        Assert.Equal(1L, command.ExecuteScalar()); // NORMAL; SQLite's default is FULL (2)
        command.CommandText = "PRAGMA wal_autocheckpoint;";
        Assert.Equal(0L, command.ExecuteScalar());
    }

    [Fact]
    public async Task A_log_past_the_threshold_is_checkpointed_off_the_writers_turn()
    {
        var file = Path.Combine(Path.GetTempPath(), $"checkpoint-{Guid.NewGuid():N}.db");
        var connectionString = $"Data Source={file}";
        SqliteSchema.EnsureCreated(connectionString);
        using (var source = new SqliteStateDataSource(connectionString))
        using (var connection = source.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "CREATE TABLE filler (payload BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO filler SELECT randomblob(4096) FROM n;";
            command.ExecuteNonQuery();
        }

        // The state connections left every page in the log (6 MB); the database file holds only the schema.
        Assert.True(new FileInfo(file + "-wal").Length > 4 * 1024 * 1024);
        Assert.True(new FileInfo(file).Length < 1024 * 1024);

        await WalSync.For(connectionString).SyncedAsync();
        await Eventually.TrueAsync(() => new FileInfo(file).Length > 4 * 1024 * 1024, TimeSpan.FromSeconds(10), "the log checkpointed into the database file");
    }

    static async Task<TaskCompletionSource> Next(Channel<TaskCompletionSource> started) =>
        await started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>TEST DOUBLE for the ADO.NET reminder table: counts upserts.</summary>
    sealed class RecordingReminders : IReminderTable
    {
        int _upserts;

        public int Upserts => Volatile.Read(ref _upserts);

        public Task<ReminderTableData> ReadRows(GrainId grainId) => Task.FromResult(new ReminderTableData());

        public Task<ReminderTableData> ReadRows(uint begin, uint end) => Task.FromResult(new ReminderTableData());

        public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => Task.FromResult<ReminderEntry?>(null);

        public Task<string?> UpsertRow(ReminderEntry entry) => Task.FromResult<string?>(Interlocked.Increment(ref _upserts).ToString(System.Globalization.CultureInfo.InvariantCulture));

        public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => Task.FromResult(true);

        public Task TestOnlyClearTable() => Task.CompletedTask;
    }

    /// <summary>TEST DOUBLE for the log's fsync: each sync is held until the test completes it.</summary>
    sealed class HeldSync
    {
        int _count;

        public HeldSync() => Sync = new WalSync(() =>
        {
            Interlocked.Increment(ref _count);
            var done = new TaskCompletionSource();
            Started.Writer.TryWrite(done);
            done.Task.Wait();
        });

        public WalSync Sync { get; }

        public Channel<TaskCompletionSource> Started { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

        public int Count => Volatile.Read(ref _count);
    }

    /// <summary>TEST DOUBLE for the ADO.NET storage: each write is held until the test completes it; reads answer at once.</summary>
    sealed class HeldStorage : IGrainStorage
    {
        int _inFlight;

        public Channel<TaskCompletionSource> Started { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

        public int InFlight => Volatile.Read(ref _inFlight);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            Interlocked.Increment(ref _inFlight);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Started.Writer.TryWrite(done);
            await done.Task;
            Interlocked.Decrement(ref _inFlight);
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;
    }
}
