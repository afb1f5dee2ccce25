using Orleans.Configuration;

namespace DeepDeploy.Silo.Storage;

/// <summary>Registers DeepDeploy's default grain storage: Orleans ADO.NET persistence on a SQLite file.</summary>
public static class StorageSetup
{
    /// <summary>
    /// ADO.NET invariant Orleans maps to <c>Microsoft.Data.Sqlite</c>'s <c>SqliteFactory</c>.
    /// </summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>
    /// Ensures the SQLite schema exists (see <see cref="SqliteSchema"/>) and registers a named
    /// ADO.NET grain storage provider on it. Use the name in <c>[PersistentState(state, name)]</c>.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">Storage provider name, e.g. "deepdeploy".</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. "Data Source=/var/lib/deepdeploy/state.db".</param>
    public static ISiloBuilder AddDeepDeploySqliteStorage(this ISiloBuilder builder, string name, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        SqliteSchema.EnsureCreated(connectionString);

        return builder.AddAdoNetGrainStorage(name, (AdoNetGrainStorageOptions options) =>
        {
            options.Invariant = SqliteInvariant;
            options.ConnectionString = connectionString;
        });
    }
}
