using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Streams;

namespace DeepDeploy.Grains.Events;

/// <summary>
/// Keeps a bounded history durably, then publishes on the log's stream: a live follower that missed an item
/// (it connected late, the stream lost it) reads it from the history by sequence number. Publishing failures
/// are logged, never thrown: the history has the event. A deployment's log forwards each batch to the cluster
/// feed, which numbers events its own way.
/// </summary>
public sealed class EventLogGrain(
    [PersistentState("events", StorageNames.Default)] IPersistentState<EventLogState> state,
    DeepCopier<EventLogState> copier,
    IGrainFactory grains,
    ILogger<EventLogGrain> log) : Grain, IEventLogGrain
{
    readonly SavedState<EventLogState> _store = new(state, copier);

    IAsyncStream<DeploymentEvent>? _stream;

    string Key => this.GetPrimaryKeyString();

    IAsyncStream<DeploymentEvent> Stream => _stream ??= this.GetStreamProvider(EventStreams.Provider)
        .GetStream<DeploymentEvent>(StreamId.Create(EventStreams.Events, Key));

    public async Task Append(IReadOnlyList<DeploymentEvent> events)
    {
        var numbered = new List<DeploymentEvent>(events.Count);
        foreach (var e in events)
        {
            numbered.Add(e with { Sequence = ++_store.State.LastSequence });
        }

        _store.State.Events.AddRange(numbered);
        if (_store.State.Events.Count > EventStreams.HistoryLimit)
        {
            _store.State.Events.RemoveRange(0, _store.State.Events.Count - EventStreams.HistoryLimit);
        }

        await _store.WriteAsync();
        try
        {
            foreach (var e in numbered)
            {
                await Stream.OnNextAsync(e);
            }
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not publish {Count} events of {Key} live; followers read them from the history", numbered.Count, Key);
        }

        if (Key != EventStreams.ClusterKey)
        {
            try
            {
                await grains.GetGrain<IEventLogGrain>(EventStreams.ClusterKey).Append(events);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Could not forward {Count} events of {Key} to the cluster feed", events.Count, Key);
            }
        }
    }

    public Task<EventPage> Read(long? after, int limit)
    {
        var events = _store.State.Events;
        var page = after is { } seq
            ? events.Where(e => e.Sequence > seq).Take(limit)
            : events.Skip(Math.Max(0, events.Count - limit));
        return Task.FromResult(new EventPage(page.ToArray(), _store.State.LastSequence));
    }
}
