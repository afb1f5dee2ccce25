namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Group commit of a SQLite database's write-ahead log: <see cref="SyncedAsync"/> completes after an <c>fsync</c> of the
/// log that started after the call, and the calls made while one sync runs share the next. Commits made with
/// <c>synchronous=NORMAL</c> are in the log but not yet on disk; once the log is synced they survive a power loss as
/// with <c>FULL</c>. A log that is gone was checkpointed into the database file, which SQLite syncs itself.
/// </summary>
public sealed class WalSync(Action sync)
{
    readonly object _lock = new();
    TaskCompletionSource? _next;
    bool _syncing;

    /// <summary>Syncs the log of the database file <paramref name="databaseFile"/>.</summary>
    public static WalSync For(string databaseFile) => new(() => SyncLog(databaseFile + "-wal"));

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

    static void SyncLog(string log)
    {
        try
        {
            using var file = new FileStream(log, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            file.Flush(flushToDisk: true);
        }
        catch (FileNotFoundException)
        {
            // The last connection checkpointed the log into the database file (synced) and deleted it.
        }
    }
}
