namespace DeepDeploy.Node.Engines;

/// <summary>Engines as unprivileged OS users (section DeepDeploy:Node:EngineUsers). When the node runs as root each
/// engine starts through <c>setpriv</c> with a uid and gid of its own from [<see cref="First"/>, <see cref="Last"/>],
/// no supplementary groups and no new privileges; it reaches only its working directory and its own weights.</summary>
public sealed class EngineUserOptions
{
    /// <summary>Null (default): on when the node runs as root. False: engines run as the node's user. True when the
    /// node is not root: instances fail, saying so.</summary>
    public bool? Enabled { get; set; }

    /// <summary>First uid (and gid) of the engines' range: one per live instance, never shared by two at once.</summary>
    public int First { get; set; } = 61000;

    public int Last { get; set; } = 61999;

    /// <summary>Where a node holds a lock file per uid in use: nodes on one host (tests, several node processes) never
    /// share a uid, and a uid no live node holds is free. Root-only, outside any tenant-writable place.</summary>
    public string LockDirectory { get; set; } = "/run/deepdeploy/engine-users";

    /// <summary>The util-linux tool that drops to the engine's user before it execs the engine.</summary>
    public string Setpriv { get; set; } = "/usr/bin/setpriv";
}
