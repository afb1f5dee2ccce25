using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// This process's writes to one SQLite database file (grain state and reminders), one at a time, queued
/// asynchronously. SQLite takes one writer at a time anyway; without the queue, every other concurrent writer got
/// SQLITE_BUSY and Microsoft.Data.Sqlite retried it by sleeping a thread-pool thread for 150 ms at a time (its commands
/// are synchronous). Session 13's profile of the scale benchmark (300 nodes, 600 deployments, one file for both silos):
/// threads sleeping in that retry were 17 threads' worth on average through the create storm, which starved the thread
/// pool (queue p50 ~540) while the process used under one core. Reads are not queued: WAL readers do not wait for the
/// writer. Other processes on the same file still meet SQLite's lock as before.
/// The writes commit without syncing the log (<see cref="SqliteStateDataSource"/>); a write is acknowledged only after
/// a sync of the log that began after its commit (<see cref="WalSync"/>), which the writes committed meanwhile share, so
/// the next write need not wait for the disk.
/// </summary>
public sealed class SqliteWriter(WalSync log)
{
    /// <summary>One writer per database file in the process (silos of a test cluster share it).</summary>
    static readonly ConcurrentDictionary<string, SqliteWriter> Files = new(StringComparer.Ordinal);

    readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>The writer of the file <paramref name="connectionString"/> names.</summary>
    public static SqliteWriter For(string connectionString) =>
        Files.GetOrAdd(FileOf(connectionString), _ => new SqliteWriter(WalSync.For(connectionString)));

    public async Task<T> WriteAsync<T>(Func<Task<T>> write)
    {
        T result;
        await _turn.WaitAsync();
        try
        {
            result = await write();
        }
        finally
        {
            _turn.Release();
        }

        await log.SyncedAsync();
        return result;
    }

    public Task WriteAsync(Func<Task> write) => WriteAsync(async () =>
    {
        await write();
        return true;
    });

    static string FileOf(string connectionString)
    {
        var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
        return source.Equals(":memory:", StringComparison.OrdinalIgnoreCase) || source.Length == 0 ? connectionString : Path.GetFullPath(source);
    }
}
