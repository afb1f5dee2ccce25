using Microsoft.Data.Sqlite;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Copies a SQLite database's write-ahead log into the database file on a connection of its own, one checkpoint at a
/// time, in the background. SQLite otherwise checkpoints inside whichever commit crosses the threshold, so one write
/// of the single writer's queue would pay for copying megabytes and syncing the file while every other write waited
/// (session 14: writes holding the writer up to 150-300 ms). A passive checkpoint lets writers go on meanwhile.
/// </summary>
public sealed class WalCheckpoints(string connectionString)
{
    int _running;

    /// <summary>Starts a checkpoint unless one runs; a failed one (say, the file is busy) is retried by the next call.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0)
        {
            _ = Task.Run(Checkpoint);
        }
    }

    void Checkpoint()
    {
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // Busy or locked now; the log keeps every commit meanwhile, and the next sync asks again.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}
