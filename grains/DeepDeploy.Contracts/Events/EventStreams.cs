namespace DeepDeploy.Contracts.Events;

/// <summary>Names shared by the silos that publish and the gateways that follow: the stream provider, its
/// namespaces (stream key: the deploy id, or <see cref="ClusterKey"/>), and the history's bound.</summary>
public static class EventStreams
{
    public const string Provider = "deepdeploy-events";

    /// <summary>Items: <see cref="DeploymentEvent"/>.</summary>
    public const string Events = "events";

    /// <summary>Items: <see cref="LogBatch"/>, engine output of one deployment.</summary>
    public const string Logs = "logs";

    /// <summary>Key of the cluster-wide feed (deploy ids are hex digits: no clash).</summary>
    public const string ClusterKey = "cluster";

    public const int HistoryLimit = 500;

    /// <summary>Engine output lines longer than this (in characters) are cut and marked truncated.</summary>
    public const int MaxLineLength = 2048;
}
