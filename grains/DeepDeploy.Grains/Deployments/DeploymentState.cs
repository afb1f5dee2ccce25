using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Deployments;

[GenerateSerializer]
public sealed class DeploymentState
{
    [Id(0)] public DeploymentSpec? Spec { get; set; }
    [Id(1)] public DeploymentStatus Status { get; set; }
    [Id(2)] public string? FailReason { get; set; }
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(5)] public string? Commit { get; set; }
    [Id(6)] public string? WeightsFile { get; set; }
    [Id(7)] public int NextInstance { get; set; }
    [Id(8)] public Dictionary<string, InstanceRecord> Instances { get; set; } = [];
    [Id(9)] public int ConsecutiveFailures { get; set; }

    /// <summary>Stopped by the spending limit; runs again by itself once the user may spend again.</summary>
    [Id(10)] public bool Suspended { get; set; }

    /// <summary>Nodes where this deployment's instances failed or were lost recently: placed elsewhere first.</summary>
    [Id(11)] public Dictionary<string, DateTimeOffset> TroubledNodes { get; set; } = [];

    /// <summary>Nodes that ran this deployment's instances lately, newest last: where its logs are.</summary>
    [Id(12)] public List<string> RecentNodes { get; set; } = [];

    /// <summary>The format of the resolved weights (gguf: one file; safetensors: the whole snapshot).</summary>
    [Id(13)] public string? WeightsFormat { get; set; }

    /// <summary>Counts starts (create, start): a weights resolution answers for the run that asked for it.</summary>
    [Id(14)] public int Run { get; set; }
}
