using DeepDeploy.Contracts.Events;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Events;

/// <summary>
/// A deployment grain's outbox of events: <see cref="Add"/> returns at once and one send at a time, in order,
/// hands what is pending to the deployment's <see cref="IEventLogGrain"/>, off the deployment's turn. A failed
/// send is logged and sent again after <see cref="RetryDelay"/> (the deployment keeps working meanwhile; the oldest
/// events go first past <see cref="MaxPending"/>); events still pending when the activation is lost are lost with it.
/// </summary>
public sealed class DeploymentEvents(string deployId, string? owner, IGrainFactory grains, TimeProvider time, ILogger log)
{
    /// <summary>An outbox that cannot drain (the log unreachable) holds at most this many events.</summary>
    const int MaxPending = 1000;

    static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    readonly List<DeploymentEvent> _pending = [];
    Task _sending = Task.CompletedTask;

    /// <summary>An event now: <paramref name="build"/> fills in its fields.</summary>
    public void Add(DeploymentEventKind kind, string message, Func<DeploymentEvent, DeploymentEvent>? build = null)
    {
        var e = new DeploymentEvent(0, time.GetUtcNow(), kind, deployId, message) { Owner = owner };
        _pending.Add(build is null ? e : build(e));
        if (_pending.Count > MaxPending)
        {
            _pending.RemoveAt(0);
        }

        if (_sending.IsCompleted)
        {
            _sending = SendAsync();
        }
    }

    /// <summary>Completes once nothing is pending (or the last send failed).</summary>
    public Task FlushAsync() => _sending;

    /// <summary>Sends until nothing is pending. Runs in the grain's context between its turns' awaits.</summary>
    async Task SendAsync()
    {
        var target = grains.GetGrain<IEventLogGrain>(deployId);
        while (_pending.Count > 0)
        {
            var batch = _pending.ToArray();
            _pending.Clear();
            try
            {
                await target.Append(batch);
            }
            catch (Exception e)
            {
                // Kept, in order, and sent again: the log's storage may be down for a while.
                log.LogWarning(e, "Could not record {Count} events of deployment {DeployId}; retrying in {Delay}", batch.Length, deployId, RetryDelay);
                _pending.InsertRange(0, batch);
                if (_pending.Count > MaxPending)
                {
                    _pending.RemoveRange(0, _pending.Count - MaxPending);
                }

                await Task.Delay(RetryDelay, time);
            }
        }
    }
}
