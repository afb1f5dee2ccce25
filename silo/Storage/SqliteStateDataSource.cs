using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// The connections the embedded mode's grain storage writes through: each commits to the write-ahead log without
/// waiting for the disk (<c>synchronous=NORMAL</c>), and <see cref="SqliteWriteGate"/> makes the log durable with one
/// <c>fsync</c> for every write committed meanwhile before any of them is acknowledged (<see cref="WalSync"/>). SQLite's
/// default (<c>FULL</c>) syncs the log in every commit, inside the one writer's turn: in the 1,000-node benchmark that
/// sync was ~2 of the 2.6 ms each of ~400 writes a second held the writer (session 14). Nor do they checkpoint the log
/// (<c>wal_autocheckpoint=0</c>): <see cref="WalCheckpoints"/> does, off the writer's turn.
/// </summary>
public sealed class SqliteStateDataSource(string connectionString) : DbDataSource
{
    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection() => new Connection(connectionString);

    /// <summary>A SQLite connection that commits without syncing the log (the gate syncs it).</summary>
    sealed class Connection(string connectionString) : SqliteConnection(connectionString)
    {
        public override void Open()
        {
            base.Open();
            using var command = CreateCommand();
            command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;";
            command.ExecuteNonQuery();
        }
    }
}
