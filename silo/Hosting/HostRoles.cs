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
