namespace DeepDeploy.Gateway.Auth;

public sealed class GatewayOptions
{
    /// <summary>The operator's token (DEEPDEPLOY_ADMIN_TOKEN, or the one saved in the data directory).</summary>
    public string AdminToken { get; set; } = "";

    /// <summary>GPU limit given to new users.</summary>
    public int DefaultGpuLimit { get; set; } = 4;
}
