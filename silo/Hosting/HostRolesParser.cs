namespace DeepDeploy.Silo.Hosting;

public static class HostRolesParser
{
    /// <summary>Parses e.g. "all", "silo", "node", "gateway", "silo,gateway" (case-insensitive).</summary>
    public static HostRoles Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return HostRoles.All;
        }

        var roles = HostRoles.None;
        foreach (var part in text.Split([',', '+', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            roles |= part.ToLowerInvariant() switch
            {
                "all" => HostRoles.All,
                "silo" or "control" => HostRoles.Silo,
                "node" => HostRoles.Silo | HostRoles.Node,
                "gateway" => HostRoles.Gateway,
                _ => throw new ArgumentException($"unknown role '{part}' in '{text}': use all, silo, node, gateway or a comma-separated mix"),
            };
        }

        return roles;
    }

    public static bool HasSilo(this HostRoles roles) => (roles & HostRoles.Silo) != 0;

    public static bool HasNode(this HostRoles roles) => (roles & HostRoles.Node) != 0;

    public static bool HasGateway(this HostRoles roles) => (roles & HostRoles.Gateway) != 0;

    public static bool IsAllInOne(this HostRoles roles) => roles == HostRoles.All;

    public static string Describe(this HostRoles roles) => roles.IsAllInOne()
        ? "all"
        : string.Join(',', new[] { (HostRoles.Silo, "silo"), (HostRoles.Node, "node"), (HostRoles.Gateway, "gateway") }
            .Where(r => (roles & r.Item1) != 0).Select(r => r.Item2));
}
