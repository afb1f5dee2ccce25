namespace DeepDeploy.Silo.Hosting;

/// <summary>Settings of the all-in-one host (section DeepDeploy; DEEPDEPLOY_* and HF_ENDPOINT environment
/// variables override).</summary>
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

    public string DatabasePath => Path.Combine(DataDir, "deepdeploy.db");

    public string HubDirectory => Path.Combine(DataDir, "hub");
}
