using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Serialization;
using Orleans.Streams;

namespace DeepDeploy.Grains.Events;

/// <summary>
/// Keeps a bounded history durably, then publishes on the log's stream: a live follower that missed an item
/// (it connected late, the stream lost it) reads it from the history by sequence number. Publishing failures
/// are logged, never thrown: the history has the event. A deployment's log forwards each batch to the cluster
/// feed, which numbers events its own way.
/// Reentrant, with the appends that arrive while a write runs written together (<see cref="GroupCommit{T}"/>): every
/// deployment's log forwards to the one cluster feed, which wrote its whole history once per append (session 13, 1,000
/// nodes / 2,000 deployments: 10,050 writes in the create storm, `Append` 20 s per call). Events are still published
/// in sequence order: each append's publishing waits for the one before it, then publishes, as one stream batch, every
/// event written and not yet published (its own and later appends'). One stream call per event fell behind the appends
/// in session 14's 1,000-node simulation (`Append` p50 33 s, the feed's publishing backlog growing without bound).
/// </summary>
[Reentrant]
public sealed class EventLogGrain(
    [PersistentState("events", StorageNames.Default)] IPersistentState<EventLogState> state,
    DeepCopier<EventLogState> copier,
    IGrainFactory grains,
    ILogger<EventLogGrain> log) : Grain, IEventLogGrain
{
    readonly GroupCommit<EventLogState> _store = new(state, copier);

    IAsyncStream<DeploymentEvent>? _stream;

    /// <summary>The publishing of the latest append; the next append's publishing starts after it.</summary>
    Task _published = Task.CompletedTask;

    /// <summary>Events written and not yet published, in sequence order.</summary>
    List<DeploymentEvent> _unpublished = [];

    string Key => this.GetPrimaryKeyString();

    IAsyncStream<DeploymentEvent> Stream => _stream ??= this.GetStreamProvider(EventStreams.Provider)
        .GetStream<DeploymentEvent>(StreamId.Create(EventStreams.Events, Key));

    public async Task Append(IReadOnlyList<DeploymentEvent> events)
    {
        // A failed write replays the changes made after it, renumbering them: the numbers published are the last
        // application's, which is the one written.
        List<DeploymentEvent> numbered = [];
        await _store.ChangeAsync(s => numbered = Number(s, events));

        // Appends resume in the order they were applied (their writes complete in order, and callers of one write
        // resume in call order), so adding here and chaining keeps the stream in sequence order.
        _unpublished.AddRange(numbered);
        var publishing = PublishAfterAsync(_published);
        _published = publishing;
        await publishing;

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

    static List<DeploymentEvent> Number(EventLogState state, IReadOnlyList<DeploymentEvent> events)
    {
        var numbered = new List<DeploymentEvent>(events.Count);
        foreach (var e in events)
        {
            numbered.Add(e with { Sequence = ++state.LastSequence });
        }

        state.Events.AddRange(numbered);
        if (state.Events.Count > EventStreams.HistoryLimit)
        {
            state.Events.RemoveRange(0, state.Events.Count - EventStreams.HistoryLimit);
        }

        return numbered;
    }

    async Task PublishAfterAsync(Task previous)
    {
        await previous;
        if (_unpublished.Count == 0)
        {
            return; // an earlier append's publishing took these events too
        }

        var batch = _unpublished;
        _unpublished = [];
        try
        {
            await Stream.OnNextBatchAsync(batch);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not publish {Count} events of {Key} live; followers read them from the history", batch.Count, Key);
        }
    }

    public Task<EventPage> Read(long? after, int limit)
    {
        // May include an append whose write is still running (reentrant); its caller has not returned yet.
        var events = _store.State.Events;
        var page = after is { } seq
            ? events.Where(e => e.Sequence > seq).Take(limit)
            : events.Skip(Math.Max(0, events.Count - limit));
        return Task.FromResult(new EventPage(page.ToArray(), _store.State.LastSequence));
    }
}
