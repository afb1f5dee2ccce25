namespace DeepDeploy.Contracts.Events;

/// <summary>
/// A bounded, durable history of deployment events (the last <see cref="EventStreams.HistoryLimit"/>), keyed by
/// a deploy id or <see cref="EventStreams.ClusterKey"/> for the operators' cluster-wide feed. Each appended
/// event gets the next sequence number, is saved, and is then published on the log's stream
/// (<see cref="EventStreams"/>) for live followers; a follower resumes from the history by sequence number.
/// </summary>
public interface IEventLogGrain : IGrainWithStringKey
{
    /// <summary>Appends events in order; a deployment's log forwards them to the cluster feed.</summary>
    Task Append(IReadOnlyList<DeploymentEvent> events);

    /// <summary>At most <paramref name="limit"/> events with a sequence number above <paramref name="after"/>, oldest
    /// first; with <paramref name="after"/> null, the newest <paramref name="limit"/> events (still oldest first).</summary>
    Task<EventPage> Read(long? after, int limit);
}
