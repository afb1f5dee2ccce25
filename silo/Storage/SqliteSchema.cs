using System.Reflection;
using Microsoft.Data.Sqlite;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Creates (idempotently) the SQLite tables and the <c>OrleansQuery</c> rows that Orleans' ADO.NET
/// grain persistence provider needs. The SQL lives in <c>deploy/sql/sqlite/*.sql</c> and is embedded
/// into this assembly; scripts run in file-name order (<c>main.sql</c>, then <c>persistence.sql</c>).
/// </summary>
public static class SqliteSchema
{
    private const string ResourcePrefix = "DeepDeploy.Sql.Sqlite.";

    /// <summary>The embedded script names, in the order they are applied.</summary>
    public static IReadOnlyList<string> ScriptNames { get; } = typeof(SqliteSchema).Assembly
        .GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..])
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>
    /// Creates the database file (and its directory) if needed, switches it to WAL journaling and
    /// applies every embedded script inside one immediate transaction. Safe to call on every start
    /// and from several silos at once.
    /// </summary>
    public static void EnsureCreated(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (ScriptNames.Count == 0)
        {
            throw new InvalidOperationException(
                $"No embedded SQLite scripts ('{ResourcePrefix}*.sql') found in {typeof(SqliteSchema).Assembly.GetName().Name}.");
        }

        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode is SqliteOpenMode.ReadWriteCreate or SqliteOpenMode.ReadWrite
            && !string.IsNullOrEmpty(builder.DataSource)
            && !builder.DataSource.Equals(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        using var connection = new SqliteConnection(connectionString);
        connection.Open();

        // WAL lets readers proceed while one writer commits (several silos share the file).
        // The journal mode is stored in the database file, so setting it once is enough; it cannot
        // change inside a transaction, hence before the scripts.
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            var mode = Convert.ToString(wal.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(builder.DataSource, ":memory:", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite database '{builder.DataSource}' refused WAL journaling (journal_mode={mode}).");
            }
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var script in ScriptNames)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = ReadScript(script);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>Returns the text of one embedded script, e.g. <c>persistence.sql</c>.</summary>
    public static string ReadScript(string scriptName)
    {
        var assembly = typeof(SqliteSchema).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + scriptName)
            ?? throw new InvalidOperationException($"Embedded SQLite script '{scriptName}' not found in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
