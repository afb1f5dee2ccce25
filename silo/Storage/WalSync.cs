using Microsoft.Data.Sqlite;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Group commit of a SQLite database's write-ahead log: <see cref="SyncedAsync"/> completes after an <c>fsync</c> of the
/// log that started after the call, and the calls made while one sync runs share the next. Commits made with
/// <c>synchronous=NORMAL</c> are in the log but not yet on disk; once the log is synced they survive a power loss as
/// with <c>FULL</c>. A log that is gone was checkpointed into the database file, which SQLite syncs itself.
/// </summary>
public sealed class WalSync(Action sync)
{
    /// <summary>SQLite's own auto-checkpoint threshold (1,000 pages of 4 KiB).</summary>
    const long CheckpointBytes = 4 * 1024 * 1024;

    readonly object _lock = new();
    TaskCompletionSource? _next;
    bool _syncing;

    /// <summary>Syncs the log of the database <paramref name="connectionString"/> names, and has it checkpointed when it
    /// outgrows SQLite's threshold (the state connections do not checkpoint: see <see cref="SqliteStateDataSource"/>).</summary>
    public static WalSync For(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:")
        {
            return new(() => { });
        }

        var log = Path.GetFullPath(builder.DataSource) + "-wal";
        var checkpoints = new WalCheckpoints(connectionString);
        return new(() =>
        {
            if (SyncLog(log) > CheckpointBytes)
            {
                checkpoints.Start();
            }
        });
    }

    public Task SyncedAsync()
    {
        lock (_lock)
        {
            var next = _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_syncing)
            {
                _syncing = true;
                _ = Task.Run(SyncWhileAsked);
            }

            return next.Task;
        }
    }

    void SyncWhileAsked()
    {
        while (true)
        {
            TaskCompletionSource group;
            lock (_lock)
            {
                if (_next is null)
                {
                    _syncing = false;
                    return;
                }

                (group, _next) = (_next, null);
            }

            try
            {
                sync();
                group.SetResult();
            }
            catch (Exception e)
            {
                group.SetException(e);
            }
        }
    }

    /// <summary>Syncs the log; returns its length.</summary>
    static long SyncLog(string log)
    {
        try
        {
            using var file = new FileStream(log, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            file.Flush(flushToDisk: true);
            return file.Length;
        }
        catch (FileNotFoundException)
        {
            // The last connection checkpointed the log into the database file (synced) and deleted it.
            return 0;
        }
    }
}
