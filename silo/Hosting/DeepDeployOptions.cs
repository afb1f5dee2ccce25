namespace DeepDeploy.Silo.Hosting;

/// <summary>Settings of a DeepDeploy host (section DeepDeploy; DEEPDEPLOY_*, HF_ENDPOINT, POD_NAME and POD_IP
/// environment variables override).</summary>
public sealed class DeepDeployOptions
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>DEEPDEPLOY_DATA_DIR; default ~/.local/share/deepdeploy.</summary>
    public string DataDir { get; set; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "deepdeploy");

    /// <summary>DEEPDEPLOY_ADMIN_TOKEN; when unset one is generated, printed once and saved in the data directory.</summary>
    public string? AdminToken { get; set; }

    /// <summary>HF_ENDPOINT; when unset, the local hub this host serves under /hub.</summary>
    public string? HfEndpoint { get; set; }

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    public string ClusterId { get; set; } = "deepdeploy";

    public string ServiceId { get; set; } = "deepdeploy";

    public int DefaultGpuLimit { get; set; } = 4;

    /// <summary>DEEPDEPLOY_DATABASE: an Npgsql connection string ("Host=...;Username=...;Password=...;Database=...").
    /// Unset: embedded mode (grain state in a SQLite file in the data directory, localhost clustering, one silo).
    /// Set: production mode (grain state, cluster membership, reminders and the Data Protection key ring in
    /// PostgreSQL; any number of silos, GPU nodes and gateways).</summary>
    public string? Database { get; set; }

    /// <summary>--role / DEEPDEPLOY_ROLE: all (default), silo, node, gateway, or a comma-separated mix (see <see cref="HostRoles"/>).</summary>
    public string? Role { get; set; }

    /// <summary>POD_NAME: this silo's name in the cluster (default: Orleans picks one).</summary>
    public string? SiloName { get; set; }

    /// <summary>POD_IP: the address this silo advertises to the others (production mode; default: the host
    /// name's first IPv4 address). It listens on every address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Apply the database schema at start (idempotent); false when a separate <c>migrate</c> run does it.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>How long a starting process waits for PostgreSQL to accept connections.</summary>
    public TimeSpan DatabaseWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Serve the local model hub under /hub (default: only the all-in-one host does; a gateway may too).</summary>
    public bool? LocalHub { get; set; }

    /// <summary>DeepDeploy:Tls: TLS of the Orleans silo and gateway ports; off unless a certificate is set.</summary>
    public Tls.ClusterTlsOptions Tls { get; set; } = new();

    public string DatabasePath => Path.Combine(DataDir, "deepdeploy.db");

    public bool IsProduction => !string.IsNullOrWhiteSpace(Database);

    /// <summary>Reads the DeepDeploy section and the environment variables that override it.</summary>
    public static DeepDeployOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection("DeepDeploy").Get<DeepDeployOptions>() ?? new DeepDeployOptions();
        options.DataDir = Path.GetFullPath(configuration["DEEPDEPLOY_DATA_DIR"] ?? options.DataDir);
        options.AdminToken = NullIfEmpty(configuration["DEEPDEPLOY_ADMIN_TOKEN"]) ?? options.AdminToken;
        options.HfEndpoint = NullIfEmpty(configuration["HF_ENDPOINT"]) ?? options.HfEndpoint;
        options.Database = NullIfEmpty(configuration["DEEPDEPLOY_DATABASE"]) ?? NullIfEmpty(options.Database);
        options.Role = NullIfEmpty(configuration["role"]) ?? NullIfEmpty(configuration["DEEPDEPLOY_ROLE"]) ?? options.Role;
        options.SiloName = NullIfEmpty(options.SiloName) ?? NullIfEmpty(configuration["POD_NAME"]);
        options.AdvertisedAddress = NullIfEmpty(options.AdvertisedAddress) ?? NullIfEmpty(configuration["POD_IP"]);
        return options;
    }

    static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    public string HubDirectory => Path.Combine(DataDir, "hub");
}
