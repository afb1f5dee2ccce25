namespace DeepDeploy.Node.Engines;

/// <summary>The OS user and group one engine instance runs as.</summary>
public sealed record EngineUser(int Uid, int Gid);
