using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Deployments;

/// <summary>A deployment's persisted state and the rules that follow from it alone: whether it is finished, whether
/// it has work, and its status derived from its instances.</summary>
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

    public bool IsFinished => Status is DeploymentStatus.Deleted or DeploymentStatus.Stopped or DeploymentStatus.Failed;

    /// <summary>Live, or finished with instances still to stop, or suspended until the spending limit allows it again.</summary>
    public bool HasWork => !IsFinished || Instances.Count > 0 || Suspended;

    public void SetStatus(DeploymentStatus status, string? failReason, DateTimeOffset now)
    {
        if (Status != status || FailReason != failReason)
        {
            Status = status;
            FailReason = failReason;
            UpdatedAt = now;
        }
    }

    /// <summary>Derives a live deployment's status from its weights and instances; a finished one keeps its own.</summary>
    public void RefreshStatus(DateTimeOffset now)
    {
        if (IsFinished || Spec is null)
        {
            return;
        }

        var live = Instances.Values.Where(i => !i.Stopping).ToList();
        var status = Commit is null ? DeploymentStatus.Initializing
            : live.Any(i => i.Phase == InstancePhase.Running) ? DeploymentStatus.Running
            : Spec.MinInstances == 0 && live.Count == 0 ? DeploymentStatus.Running
            : live.Any(i => i.Phase == InstancePhase.Downloading) ? DeploymentStatus.Downloading
            : DeploymentStatus.Deploying;
        SetStatus(status, null, now);
    }

    /// <summary>The download of the instance furthest from done (instances on one node share theirs).</summary>
    public DownloadProgress? SlowestDownload() => Instances.Values
        .Where(i => !i.Stopping && i.Phase == InstancePhase.Downloading && i.Download is { BytesTotal: > 0 })
        .Select(i => i.Download!)
        .OrderBy(d => (double)d.BytesDone / d.BytesTotal)
        .FirstOrDefault();
}
