using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Grains.Telemetry;

/// <summary>The values of <c>deepdeploy.instance.status</c>: a live instance's phase, or "stopping" once it drains.
/// Every status is reported, zeros too, so that a dashboard's series do not vanish and reappear.</summary>
public static class InstanceStatuses
{
    public const string Stopping = "stopping";

    static readonly string[] All = ["placed", "downloading", "starting", "running", Stopping];

    public static IReadOnlyList<KeyValuePair<string, int>> Count(IEnumerable<InstanceRecord> instances)
    {
        var counts = All.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            var status = instance.Stopping ? Stopping : Name(instance.Phase);
            if (counts.ContainsKey(status))
            {
                counts[status]++;
            }
        }

        return All.Select(s => KeyValuePair.Create(s, counts[s])).ToArray();
    }

    static string Name(InstancePhase phase) => phase switch
    {
        InstancePhase.Placed => "placed",
        InstancePhase.Downloading => "downloading",
        InstancePhase.Starting => "starting",
        InstancePhase.Running => "running",
        _ => Stopping,
    };
}
