namespace DeepDeploy.Tests.Security;

/// <summary>A fact about engines running as other OS users: only root can start them so. Skipped, saying why,
/// elsewhere (CI and this project's machines run as root).</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Skip = "engines run as separate users only when the node runs as root on Linux";
        }
    }
}
