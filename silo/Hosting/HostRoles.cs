namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// What one DeepDeploy process does (<c>--role</c>, <c>DEEPDEPLOY_ROLE</c> or <c>DeepDeploy:Role</c>; a
/// comma-separated list). Every role serves <c>/health</c> over HTTP.
/// </summary>
[Flags]
public enum HostRoles
{
    None = 0,

    /// <summary>An Orleans silo without a GPU node: hosts deployments, users and the node registry ("control").</summary>
    Silo = 1,

    /// <summary>A silo that also runs this host's GPU node (its GpuNode grain and engine processes); implies <see cref="Silo"/>.</summary>
    Node = 2,

    /// <summary>The HTTP API (deploy API, OpenAI-compatible API, dashboard). Alone, an Orleans client of the cluster.</summary>
    Gateway = 4,

    /// <summary>The local Hugging Face hub stand-in under /hub; not a role of its own, part of <see cref="All"/> only.</summary>
    LocalHub = 8,

    /// <summary>Everything in one process, plus the local model hub: <c>dotnet run --project silo</c>.</summary>
    All = Silo | Node | Gateway | LocalHub,
}

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
