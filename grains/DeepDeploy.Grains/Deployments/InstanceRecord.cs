using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Deployments;

[GenerateSerializer]
public sealed class InstanceRecord
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Node { get; init; }
    [Id(2)] public InstancePhase Phase { get; set; }
    [Id(3)] public string? Endpoint { get; set; }
    [Id(4)] public string? Message { get; set; }
    [Id(5)] public bool Stopping { get; set; }

    /// <summary>When it began serving: billing starts here.</summary>
    [Id(6)] public DateTimeOffset? RunningSince { get; set; }

    /// <summary>Order of creation (ids compare as strings, so "x-10" &lt; "x-9").</summary>
    [Id(8)] public int Seq { get; init; }

    /// <summary>The silo hosting its node: when the cluster declares it dead, the instance is lost. Saved with the
    /// instance's first report (<see cref="InstanceLifecycle.Started"/>), not on its own.</summary>
    [Id(9)] public SiloAddress? Silo { get; set; }

    /// <summary>A stopping instance is out of the routes at once and gets its stop request from this time on.</summary>
    [Id(10)] public DateTimeOffset DrainUntil { get; set; }

    [Id(11)] public DateTimeOffset? StopSentAt { get; set; }

    /// <summary>The weights download's progress on its node, while downloading.</summary>
    [Id(12)] public DownloadProgress? Download { get; set; }

    /// <summary>The secret its engine demands (from the node); goes into the route, never into a view.</summary>
    [Id(13)] public string? Secret { get; set; }

    /// <summary>Restarts in place on its node (its phase went back to starting), for events.</summary>
    [Id(14)] public int Restarts { get; set; }

    /// <summary>When its current serving period began (it last became running): renewals bill from here, so a
    /// renewal after a gap bills the gap once when it served through it.</summary>
    [Id(15)] public DateTimeOffset? ServingSince { get; set; }
}
