using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Admission and routing for one deployment in this gateway, all under one short lock:
/// <list type="bullet">
/// <item>a request gets a slot on an instance chosen by its <see cref="RoutingPolicy"/> (the request's, else the
/// lane's: by default the least loaded, ties at random) among those below their capacity; the capacity of an
/// instance is this gateway's share of its max_batch_size (<see cref="SlotShare"/>), so this gateway never has more
/// than max_batch_size in flight on it;</item>
/// <item>when every slot is taken, the request waits in a bounded FIFO queue with a deadline; a released slot goes
/// straight to the head of the queue;</item>
/// <item>with no serving instance, requests are held (same queue) up to the cold-start timeout and the deployment
/// is asked for an instance;</item>
/// <item>in flight plus waiting never exceeds the deployment's ceiling (429 "Rate limited").</item>
/// </list>
/// </summary>
public sealed class DeploymentLane
{
    readonly object _lock = new();
    readonly InferenceOptions _options;
    readonly TimeProvider _time;
    readonly Action<DeploymentLane> _wake;
    readonly LinkedList<Waiter> _queue = new();
    readonly LaneRoutingState _routing = new();
    InstanceSlot[] _instances = [];
    InstanceSlot[] _candidates = [];
    int _inFlight;
    int _waiting;
    long _refused;
    long _lastWake = long.MinValue;
    int _pressureAt = int.MaxValue;

    public DeploymentLane(DeploymentRoute route, InferenceOptions options, TimeProvider time, Action<DeploymentLane> wake)
    {
        _options = options;
        _time = time;
        _wake = wake;
        Route = route;
    }

    public string DeployId => Route.DeployId;

    public string Model => Route.Model;

    public DeploymentRoute Route { get; private set; }

    /// <summary>The policy of requests that name none (<see cref="RoutingPolicies.Header"/>).</summary>
    public RoutingPolicy Policy { get; set; } = RoutingPolicies.LeastLoaded;

    /// <summary>Called when a request queues, or when in flight reaches <see cref="InferenceOptions.LoadPressureThreshold"/>
    /// of this gateway's slots (under the lock: it must only signal): the cue of an immediate load report.</summary>
    public Action<DeploymentLane>? Pressure { get; init; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>How long the longest-waiting queued request has waited (zero with no queue): the SLO policy's signal.</summary>
    public TimeSpan OldestWait
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_queue.Min(w => w.Since));
            }
        }
    }

    /// <summary>Requests refused by admission since start (429 and 503 answers).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The instances and their state, for tests and diagnostics.</summary>
    public IReadOnlyList<InstanceSlot> Instances
    {
        get
        {
            lock (_lock)
            {
                return _instances.ToArray();
            }
        }
    }

    static bool IsUnavailable(DeploymentStatus status) =>
        status is DeploymentStatus.Failed or DeploymentStatus.Stopped or DeploymentStatus.Deleted;

    /// <summary>A new route (instances, status, limit) or a new split of slots among gateways.</summary>
    public void Update(DeploymentRoute route, int gatewayRank, int gatewayCount)
    {
        List<(Waiter, Admission)>? done;
        lock (_lock)
        {
            Route = route;
            var old = _instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
            _instances = route.Instances.Select((instance, index) =>
            {
                var slot = old.TryGetValue(instance.InstanceId, out var known) && known.Endpoint == instance.Endpoint
                    && known.Secret == instance.Secret
                    ? known
                    : new InstanceSlot(instance.InstanceId, instance.Endpoint, instance.Secret);

                // With fewer slots than gateways a share can be 0: let it try one; the worker refuses extras.
                slot.Capacity = Math.Max(1, SlotShare.For(route.MaxBatchSize, index, gatewayRank, gatewayCount));
                return slot;
            }).ToArray();
            foreach (var gone in old.Values.Except(_instances))
            {
                gone.CloseConnections();
            }

            _candidates = new InstanceSlot[_instances.Length];
            _pressureAt = _instances.Length == 0 ? int.MaxValue : Math.Max(1, (int)Math.Ceiling(_instances.Sum(i => i.Capacity) * _options.LoadPressureThreshold));

            done = IsUnavailable(route.Status) ? DrainLocked(AdmissionOutcome.Unavailable) : DispatchLocked();
        }

        Complete(done);
        MaybeWake();
    }

    /// <summary>
    /// Leases a slot, waiting in the queue when needed. <paramref name="retry"/> is for a request that was already
    /// admitted and must try again (its instance failed or refused it): it skips the ceiling and the queue limit and
    /// waits at the head of the queue.
    /// </summary>
    public ValueTask<Admission> AcquireAsync(bool retry, CancellationToken cancellationToken) =>
        AcquireAsync(null, default, retry, cancellationToken);

    /// <summary>As <see cref="AcquireAsync(bool, CancellationToken)"/>, choosing by <paramref name="policy"/> (null: the
    /// lane's) with the request's <paramref name="body"/> at hand for scorers that read it; <paramref name="tokens"/>
    /// is its max_tokens, counted in the chosen instance's outstanding generation while the slot is leased.</summary>
    public ValueTask<Admission> AcquireAsync(RoutingPolicy? policy, ReadOnlyMemory<byte> body, bool retry, CancellationToken cancellationToken,
        int tokens = 0)
    {
        policy ??= Policy;
        var prefix = PrefixBlocks.For(policy, body);
        Waiter waiter;
        lock (_lock)
        {
            if (IsUnavailable(Route.Status))
            {
                _refused++;
                return new(Admission.Of(AdmissionOutcome.Unavailable));
            }

            if (!retry && _inFlight + _waiting >= _options.MaxConcurrentRequests)
            {
                _refused++;
                return new(Admission.Of(AdmissionOutcome.RateLimited));
            }

            if ((retry || _waiting == 0) && TryPickLocked(policy, body, prefix, tokens) is { } slot)
            {
                if (_inFlight == _pressureAt)
                {
                    Pressure?.Invoke(this);
                }

                return new(new Admission(AdmissionOutcome.Granted, new SlotLease(this, slot, tokens)));
            }

            if (!retry && _waiting >= _options.QueueCapacity)
            {
                _refused++;
                return new(Admission.Of(AdmissionOutcome.QueueFull));
            }

            waiter = new Waiter(_time.GetTimestamp(), _instances.Length == 0, policy, body, prefix, tokens);
            waiter.Node = retry ? _queue.AddFirst(waiter) : _queue.AddLast(waiter);
            _waiting++;
        }

        MaybeWake();
        Pressure?.Invoke(this);
        return new(WaitAsync(waiter, cancellationToken));
    }

    /// <summary>Called by <see cref="SlotLease.Release"/>: frees the slot and hands it to the head of the queue.</summary>
    internal void Release(InstanceSlot slot, int tokens)
    {
        List<(Waiter, Admission)>? done;
        lock (_lock)
        {
            slot.InFlight--;
            _inFlight--;
            slot.OutstandingTokens -= tokens;
            _routing.OutstandingTokens -= tokens;
            done = DispatchLocked();
        }

        Complete(done);
    }

    /// <summary>The instance refused the connection, failed before answering, or refused the work: do not pick it
    /// for <paramref name="duration"/>.</summary>
    public void Exclude(InstanceSlot slot, TimeSpan duration)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            slot.ExcludedUntil = now + Ticks(duration);
            CountFailureLocked(slot, now);
        }

        _ = DispatchLaterAsync(duration);
    }

    /// <summary>The instance answered that it is loading or draining: do not pick it for <paramref name="duration"/>.</summary>
    public void NotServing(InstanceSlot slot, TimeSpan duration)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            slot.NotServingUntil = now + Ticks(duration);
            CountFailureLocked(slot, now);
        }

        _ = DispatchLaterAsync(duration);
    }

    void CountFailureLocked(InstanceSlot slot, long now)
    {
        slot.Failures = RecentFailuresScorer.Decayed(slot.Failures, (double)(now - slot.LastFailure) / _time.TimestampFrequency) + 1;
        slot.LastFailure = now;
    }

    long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * _time.TimestampFrequency);

    /// <summary>The instance refused work because it was full: until <paramref name="duration"/> passes, use no more
    /// of its slots than this gateway still has in flight there, so that the next attempt waits for one of them to
    /// end instead of knocking again. Call it while the refused request still holds its slot.</summary>
    public void Saturated(InstanceSlot slot, TimeSpan duration)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            slot.Ceiling = Math.Max(0, slot.InFlight - 1);
            slot.CeilingSince = now;
            slot.CeilingUntil = now + Ticks(duration);
        }

        _ = DispatchLaterAsync(duration);
    }

    async Task DispatchLaterAsync(TimeSpan delay)
    {
        await Task.Delay(delay + TimeSpan.FromMilliseconds(1), _time);
        List<(Waiter, Admission)>? done;
        lock (_lock)
        {
            done = DispatchLocked();
        }

        Complete(done);
    }

    InstanceSlot? TryPickLocked(RoutingPolicy policy, ReadOnlyMemory<byte> body, ReadOnlyMemory<ulong> prefix, int tokens)
    {
        var context = new RoutingContext(_time.GetTimestamp(), _time.TimestampFrequency, _routing, body, prefix, _waiting);
        var best = policy.Pick(_instances, _candidates, context);
        if (best is not null)
        {
            best.InFlight++;
            _inFlight++;
            best.OutstandingTokens += tokens;
            _routing.OutstandingTokens += tokens;
        }

        return best;
    }

    /// <summary>The waiters granted a slot, or null for none (most releases: no list per request).</summary>
    List<(Waiter, Admission)>? DispatchLocked()
    {
        List<(Waiter, Admission)>? done = null;
        while (_queue.First is { } first && TryPickLocked(first.Value.Policy, first.Value.Body, first.Value.Prefix, first.Value.Tokens) is { } slot)
        {
            _queue.RemoveFirst();
            first.Value.Node = null;
            _waiting--;
            (done ??= []).Add((first.Value, new Admission(AdmissionOutcome.Granted, new SlotLease(this, slot, first.Value.Tokens))));
        }

        return done;
    }

    List<(Waiter, Admission)> DrainLocked(AdmissionOutcome outcome)
    {
        var done = new List<(Waiter, Admission)>();
        while (_queue.First is { } first)
        {
            _queue.RemoveFirst();
            first.Value.Node = null;
            _waiting--;
            _refused++;
            done.Add((first.Value, Admission.Of(outcome)));
        }

        return done;
    }

    static void Complete(List<(Waiter Waiter, Admission Admission)>? done)
    {
        if (done is null)
        {
            return;
        }

        foreach (var (waiter, admission) in done)
        {
            if (!waiter.Result.TrySetResult(admission))
            {
                admission.Lease?.Release();
            }
        }
    }

    async Task<Admission> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        await using var cancel = cancellationToken.Register(() => Abandon(waiter, AdmissionOutcome.Cancelled));
        using var timer = _time.CreateTimer(_ => OnDeadline(waiter), null, _options.QueueTimeout, Timeout.InfiniteTimeSpan);
        waiter.Timer = timer;
        return await waiter.Result.Task;
    }

    void OnDeadline(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return;
            }

            // Held for a cold start (then, or now): the cold-start timeout applies instead.
            waiter.Cold |= _instances.Length == 0;
            if (waiter.Cold)
            {
                var left = _options.ColdStartTimeout - _time.GetElapsedTime(waiter.Since);
                if (left > TimeSpan.Zero)
                {
                    waiter.Timer?.Change(left, Timeout.InfiniteTimeSpan);
                    return;
                }
            }
        }

        Abandon(waiter, waiter.Cold ? AdmissionOutcome.ColdStartTimeout : AdmissionOutcome.QueueTimeout);
    }

    void Abandon(Waiter waiter, AdmissionOutcome outcome)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return; // already granted (or abandoned)
            }

            _queue.Remove(waiter.Node);
            waiter.Node = null;
            _waiting--;
            if (outcome != AdmissionOutcome.Cancelled)
            {
                _refused++;
            }
        }

        waiter.Result.TrySetResult(Admission.Of(outcome));
    }

    /// <summary>Requests are held and no instance serves: ask the deployment for one (at most every 2 s).</summary>
    void MaybeWake()
    {
        lock (_lock)
        {
            if (_waiting == 0 || _instances.Length > 0 || IsUnavailable(Route.Status)
                || (_lastWake != long.MinValue && _time.GetElapsedTime(_lastWake) < TimeSpan.FromSeconds(2)))
            {
                return;
            }

            _lastWake = _time.GetTimestamp();
        }

        _wake(this);
    }

    sealed class Waiter(long since, bool cold, RoutingPolicy policy, ReadOnlyMemory<byte> body, ReadOnlyMemory<ulong> prefix, int tokens)
    {
        public long Since { get; } = since;

        public RoutingPolicy Policy { get; } = policy;

        public ReadOnlyMemory<byte> Body { get; } = body;

        public ReadOnlyMemory<ulong> Prefix { get; } = prefix;

        public int Tokens { get; } = tokens;

        public bool Cold { get; set; } = cold;

        public LinkedListNode<Waiter>? Node { get; set; }

        public ITimer? Timer { get; set; }

        public TaskCompletionSource<Admission> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
