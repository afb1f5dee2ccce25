using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeepDeploy.Silo.Storage;

/// <summary>Registers DeepDeploy's storage: embedded (Orleans ADO.NET persistence and reminders on a SQLite file) or
/// production (Orleans ADO.NET persistence, clustering and reminders on PostgreSQL).</summary>
public static class StorageSetup
{
    /// <summary>ADO.NET invariant Orleans maps to Npgsql's <c>NpgsqlFactory</c>.</summary>
    public const string PostgresInvariant = "Npgsql";

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
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        SqliteSchema.EnsureCreated(connectionString);
        builder.AddAdoNetStorage(name, SqliteInvariant, options => options.DataSource = new SqliteStateDataSource(connectionString));
        Wrap(builder.Services, name, (provider, storage) => new SqliteWriteGate(storage, SqliteWriter.For(connectionString)));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, SqliteThreadReserve>());
        return builder;
    }

    /// <summary>
    /// Embedded mode for a silo: grain state (provider <paramref name="storageName"/>) and reminders in one SQLite file.
    /// </summary>
    public static ISiloBuilder UseDeepDeploySqlite(this ISiloBuilder builder, string storageName, string connectionString)
    {
        builder.AddDeepDeploySqliteStorage(storageName, connectionString);
        builder.UseAdoNetReminderService((AdoNetReminderTableOptions options) =>
        {
            options.Invariant = SqliteInvariant;
            options.DataSource = new SqliteStateDataSource(connectionString);
        });
        var table = builder.Services.Last(d => d.ServiceType == typeof(IReminderTable) && d.ImplementationType is not null);
        builder.Services.Remove(table);
        builder.Services.AddSingleton<IReminderTable>(provider => new SqliteReminderGate(
            (IReminderTable)ActivatorUtilities.CreateInstance(provider, table.ImplementationType!), SqliteWriter.For(connectionString)));
        return builder;
    }

    /// <summary>
    /// Registers a named ADO.NET grain storage provider on PostgreSQL. The schema must exist
    /// (<see cref="PostgresSchema.EnsureCreatedAsync"/> or the <c>migrate</c> command).
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">Storage provider name, e.g. "deepdeploy".</param>
    /// <param name="connectionString">An Npgsql connection string, e.g. "Host=db;Username=deepdeploy;Password=...;Database=deepdeploy".</param>
    public static ISiloBuilder AddDeepDeployPostgresStorage(this ISiloBuilder builder, string name, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.AddAdoNetStorage(name, PostgresInvariant, options => options.ConnectionString = connectionString);
    }

    /// <param name="connect">Sets the options' connection string or data source.</param>
    static ISiloBuilder AddAdoNetStorage(this ISiloBuilder builder, string name, string invariant, Action<AdoNetGrainStorageOptions> connect)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        builder.AddAdoNetGrainStorage(name, (AdoNetGrainStorageOptions options) =>
        {
            options.Invariant = invariant;
            connect(options);
        });
        builder.Services.AddOptions<AdoNetGrainStorageOptions>(name).Configure<IServiceProvider>((options, services) =>
            options.GrainStorageSerializer = new StateSerializer(
                new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>()),
                new JsonGrainStorageSerializer(services.GetRequiredService<OrleansJsonSerializer>())));
        TranslateUnavailable(builder.Services, name);
        return builder;
    }

    /// <summary>Puts <see cref="UnavailableStorageTranslation"/> around the provider just registered as <paramref name="name"/>.</summary>
    static void TranslateUnavailable(IServiceCollection services, string name) =>
        Wrap(services, name, (provider, storage) => new UnavailableStorageTranslation(storage, name,
            provider.GetRequiredService<ILogger<UnavailableStorageTranslation>>()));

    /// <summary>Puts <paramref name="wrap"/> around the provider last registered as <paramref name="name"/>.</summary>
    static void Wrap(IServiceCollection services, string name, Func<IServiceProvider, IGrainStorage, IGrainStorage> wrap)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, name) && d.KeyedImplementationFactory is not null);
        services.Remove(registered);
        services.AddKeyedSingleton<IGrainStorage>(name, (provider, key) => wrap(provider, (IGrainStorage)registered.KeyedImplementationFactory!(provider, key)));
    }

    /// <summary>
    /// Production mode for a silo: grain state (provider <paramref name="storageName"/>), cluster membership
    /// and reminders in PostgreSQL. The schema must exist (see <see cref="PostgresSchema"/>).
    /// </summary>
    public static ISiloBuilder UseDeepDeployPostgres(this ISiloBuilder builder, string storageName, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        builder.AddDeepDeployPostgresStorage(storageName, connectionString);
        builder.UseAdoNetClustering((AdoNetClusteringSiloOptions options) =>
        {
            options.Invariant = PostgresInvariant;
            options.ConnectionString = connectionString;
        });
        builder.UseAdoNetReminderService((AdoNetReminderTableOptions options) =>
        {
            options.Invariant = PostgresInvariant;
            options.ConnectionString = connectionString;
        });
        return builder;
    }

    /// <summary>Production mode for an Orleans client (a gateway): finds the silos through the PostgreSQL membership table.</summary>
    public static IClientBuilder UseDeepDeployPostgresClustering(this IClientBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        return builder.UseAdoNetClustering((AdoNetClusteringClientOptions options) =>
        {
            options.Invariant = PostgresInvariant;
            options.ConnectionString = connectionString;
        });
    }

    /// <summary>Keeps the Data Protection key ring in PostgreSQL, shared by every process of the cluster.</summary>
    public static IDataProtectionBuilder PersistKeysToPostgres(this IDataProtectionBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        builder.Services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(
            options => options.XmlRepository = new PostgresXmlRepository(connectionString));
        return builder;
    }
}
