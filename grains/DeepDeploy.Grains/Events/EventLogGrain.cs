using DeepDeploy.Contracts.Events;
using Microsoft.Extensions.Logging;
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
    IGrainFactory grains,
    ILogger<EventLogGrain> log) : Grain, IEventLogGrain
{
    IAsyncStream<DeploymentEvent>? _stream;

    string Key => this.GetPrimaryKeyString();

    IAsyncStream<DeploymentEvent> Stream => _stream ??= this.GetStreamProvider(EventStreams.Provider)
        .GetStream<DeploymentEvent>(StreamId.Create(EventStreams.Events, Key));

    public async Task Append(IReadOnlyList<DeploymentEvent> events)
    {
        var numbered = new List<DeploymentEvent>(events.Count);
        foreach (var e in events)
        {
            numbered.Add(e with { Sequence = ++state.State.LastSequence });
        }

        state.State.Events.AddRange(numbered);
        if (state.State.Events.Count > EventStreams.HistoryLimit)
        {
            state.State.Events.RemoveRange(0, state.State.Events.Count - EventStreams.HistoryLimit);
        }

        await state.WriteStateAsync();
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
        var events = state.State.Events;
        var page = after is { } seq
            ? events.Where(e => e.Sequence > seq).Take(limit)
            : events.Skip(Math.Max(0, events.Count - limit));
        return Task.FromResult(new EventPage(page.ToArray(), state.State.LastSequence));
    }
}
