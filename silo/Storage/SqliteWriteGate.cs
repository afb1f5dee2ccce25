using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Wraps the SQLite grain storage so that this process writes the database file one state at a time, queueing the
/// writers asynchronously. SQLite takes one writer at a time anyway; without the gate, every other concurrent writer
/// got SQLITE_BUSY and Microsoft.Data.Sqlite retried it by sleeping a thread-pool thread for 150 ms at a time (its
/// commands are synchronous). Session 13's profile of the scale benchmark (300 nodes, 600 deployments, one file for
/// both silos): threads sleeping in that retry were 17 threads' worth on average through the create storm, which starved
/// the thread pool (queue p50 ~540) while the process used under one core. Reads are not gated: WAL readers do not wait
/// for the writer. Other processes on the same file still meet SQLite's lock as before.
/// The writes commit without syncing the log (<see cref="SqliteStateDataSource"/>); a write is acknowledged only after
/// a sync of the log that began after its commit (<see cref="WalSync"/>), which the writes committed meanwhile share, so
/// the next write need not wait for the disk.
/// </summary>
public sealed class SqliteWriteGate(IGrainStorage inner, string connectionString, Func<string, WalSync>? syncFor = null)
    : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>One gate and one log sync per database file in the process (silos of a test cluster share them).</summary>
    static readonly ConcurrentDictionary<string, (SemaphoreSlim Gate, WalSync Log)> Files = new(StringComparer.Ordinal);

    readonly (SemaphoreSlim Gate, WalSync Log) _file = Files.GetOrAdd(FileOf(connectionString), _ => (new SemaphoreSlim(1, 1), (syncFor ?? WalSync.For)(connectionString)));

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        GatedAsync(() => inner.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        GatedAsync(() => inner.ClearStateAsync(stateName, grainId, grainState));

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    async Task GatedAsync(Func<Task> write)
    {
        await _file.Gate.WaitAsync();
        try
        {
            await write();
        }
        finally
        {
            _file.Gate.Release();
        }

        await _file.Log.SyncedAsync();
    }

    static string FileOf(string connectionString)
    {
        var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
        return source.Equals(":memory:", StringComparison.OrdinalIgnoreCase) || source.Length == 0 ? connectionString : Path.GetFullPath(source);
    }
}
