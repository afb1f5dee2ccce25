using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// Creates (idempotently) the PostgreSQL tables and the <c>OrleansQuery</c> rows that Orleans' ADO.NET
/// clustering, grain persistence and reminders providers need, plus DeepDeploy's Data Protection key table.
/// The SQL lives in <c>deploy/sql/postgresql/*.sql</c> and is embedded into this assembly; <c>main.sql</c>
/// runs first, then the others in file-name order.
/// </summary>
public static class PostgresSchema
{
    const string ResourcePrefix = "DeepDeploy.Sql.PostgreSql.";
    const string MainScript = "main.sql";

    /// <summary>Any constant: the advisory lock that serialises schema updates across processes.</summary>
    const long MigrationLockKey = 0x44_65_65_70_44_65_70; // "DeepDep"

    /// <summary>The embedded script names, in the order they are applied.</summary>
    public static IReadOnlyList<string> ScriptNames { get; } = typeof(PostgresSchema).Assembly
        .GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..])
        .OrderBy(n => n == MainScript ? 0 : 1)
        .ThenBy(n => n, StringComparer.Ordinal)
        .ToArray();

    /// <summary>
    /// Applies every embedded script in one transaction, under a transaction-scoped advisory lock so that
    /// processes starting together take turns. Safe to call on every start. While the server cannot be
    /// reached (e.g. it is still starting next to us) it retries for up to <paramref name="waitForServer"/>.
    /// </summary>
    /// <returns>The scripts applied, in order.</returns>
    public static async Task<IReadOnlyList<string>> EnsureCreatedAsync(
        string connectionString, TimeSpan waitForServer = default, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (ScriptNames.Count == 0 || ScriptNames[0] != MainScript)
        {
            throw new InvalidOperationException(
                $"Embedded PostgreSQL scripts ('{ResourcePrefix}*.sql', {MainScript} first) not found in {typeof(PostgresSchema).Assembly.GetName().Name}.");
        }

        await using var connection = await OpenAsync(connectionString, waitForServer, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key);", connection, transaction))
        {
            command.Parameters.AddWithValue("key", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var script in ScriptNames)
        {
            await using var command = new NpgsqlCommand(ReadScript(script), connection, transaction);
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e)
            {
                throw new InvalidOperationException($"PostgreSQL schema script {script} failed: {e.MessageText}", e);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return ScriptNames;
    }

    /// <summary>Returns the text of one embedded script, e.g. <c>clustering.sql</c>.</summary>
    public static string ReadScript(string scriptName)
    {
        var assembly = typeof(PostgresSchema).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + scriptName)
            ?? throw new InvalidOperationException($"Embedded PostgreSQL script '{scriptName}' not found in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    static async Task<NpgsqlConnection> OpenAsync(string connectionString, TimeSpan waitForServer, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var connection = new NpgsqlConnection(connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                return connection;
            }
            catch (Exception e) when (IsUnreachable(e) && clock.Elapsed < waitForServer)
            {
                await connection.DisposeAsync();
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>The server is not there (yet), as opposed to a wrong password, database or SQL.</summary>
    static bool IsUnreachable(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState is PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.AdminShutdown,
        NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => true,
        SocketException or IOException or TimeoutException => true,
        _ => false,
    };
}
