using System.Runtime.CompilerServices;
using DeepDeploy.Contracts.Events;
using Orleans.Streams;

namespace DeepDeploy.Gateway.Events;

/// <summary>
/// Follows an event log (a deployment's, or the cluster feed): subscribes first, then sends the history from
/// where the client stands, then live events. Sequence numbers make it exact: an event already sent is skipped,
/// and a gap (a stream item lost, or dropped for a slow client) is filled from the history.
/// </summary>
public static class EventFeed
{
    public static async IAsyncEnumerable<DeploymentEvent> FollowAsync(IClusterClient client, string key, long? after, int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var history = client.GetGrain<IEventLogGrain>(key);
        await using var live = await StreamFollower<DeploymentEvent>.StartAsync(client, StreamId.Create(EventStreams.Events, key));

        var page = await history.Read(after, limit);
        var last = after ?? (page.Events.Count > 0 ? page.Events[0].Sequence - 1 : page.LastSequence);
        await foreach (var e in CatchUpAsync(history, page, limit, cancellationToken))
        {
            last = e.Sequence;
            yield return e;
        }

        await foreach (var e in live.ReadAllAsync(cancellationToken))
        {
            if (e.Sequence <= last)
            {
                continue;
            }

            if (e.Sequence > last + 1)
            {
                await foreach (var missed in CatchUpAsync(history, await history.Read(last, limit), limit, cancellationToken))
                {
                    if (missed.Sequence < e.Sequence)
                    {
                        last = missed.Sequence;
                        yield return missed;
                    }
                }
            }

            last = e.Sequence;
            yield return e;
        }
    }

    /// <summary><paramref name="page"/>, then the pages after it while they come full.</summary>
    static async IAsyncEnumerable<DeploymentEvent> CatchUpAsync(IEventLogGrain history, EventPage page, int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            foreach (var e in page.Events)
            {
                yield return e;
            }

            if (page.Events.Count < limit || cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            page = await history.Read(page.Events[^1].Sequence, limit);
        }
    }
}
