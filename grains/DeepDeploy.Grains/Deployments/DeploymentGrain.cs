using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains.Events;
using DeepDeploy.Grains.Storage;
using DeepDeploy.Grains.Telemetry;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// A deployment's control loop. Level-triggered: every tick (and right after any change) it compares the
/// instances it has with the instances it wants and acts on the difference, so that a lost report, a
/// restart or a full cluster all heal the same way. A timer drives the loop while the grain is active; a
/// reminder brings a live deployment back when its silo is gone.
/// </summary>
public sealed class DeploymentGrain(
    [PersistentState("deployment", StorageNames.Default)] IPersistentState<DeploymentState> state,
    DeepCopier<DeploymentState> copier,
    IGrainFactory grains,
    IWeightsResolver weights,
    IDataProtectionProvider protection,
    TimeProvider time,
    IOptions<GpuPrices> prices,
    IOptions<AutoscalerOptions> autoscaler,
    IOptions<DeploymentOptions> options,
    IClusterMembershipService membership,
    ControlPlaneMetrics metrics,
    ILogger<DeploymentGrain> log) : Grain, IDeploymentGrain, IWeightsListener, IRemindable
{
    readonly SavedState<DeploymentState> _store = new(state, copier);

    /// <summary>Instances that fail this many times in a row without ever serving fail the deployment.</summary>
    public const int MaxConsecutiveFailures = 3;

    /// <summary>A stop request not answered by the instance's end is sent again after this long.</summary>
    static readonly TimeSpan StopResend = TimeSpan.FromSeconds(15);

    static readonly TimeSpan ReconcilePeriod = TimeSpan.FromSeconds(2);

    /// <summary>The durable wake-up of a live deployment (Orleans' shortest reminder period).</summary>
    const string WakeReminder = "wake";

    static readonly TimeSpan WakePeriod = TimeSpan.FromMinutes(1);

    IGrainTimer? _timer;
    RoutePublisher? _routes;
    InstanceDemand? _demandState;
    DeploymentMeter? _meter;
    WeightsFetch? _fetch;
    InstancePlacer? _placer;
    CapacityClaims? _capacity;
    DeploymentEvents? _events;
    readonly PlacementTrace _placement = new();
    DeploymentStatus? _reportedStatus;
    (int From, int To)? _reportedScaling;
    bool _awake;

    DeploymentMeter Meter => _meter ??= new DeploymentMeter(DeployId, grains, time, prices.Value, log);

    InstancePlacer Placer => _placer ??= new InstancePlacer(DeployId, grains, time, options.Value, log);

    CapacityClaims Capacity => _capacity ??= new CapacityClaims(DeployId, grains, time, log);

    WeightsFetch Fetch => _fetch ??= new WeightsFetch(weights, this.AsReference<IWeightsListener>(), DeployId, log);

    InstanceDemand Demand => _demandState ??= new InstanceDemand(autoscaler.Value);

    RoutePublisher Routes => _routes ??= new RoutePublisher(grains, log);

    DeploymentEvents Events => _events ??= new DeploymentEvents(DeployId, S.Spec?.Owner, grains, time, log);

    string DeployId => this.GetPrimaryKeyString();

    DeploymentState S => _store.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _reportedStatus = state.RecordExists ? S.Status : null;
        if (state.RecordExists && S.HasWork)
        {
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    /// <summary>Events still in the outbox (e.g. a deleted deployment's last ones) go out before it deactivates;
    /// whichever silo activates it next reports its instances.</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.RemoveDeployment(DeployId);
        try
        {
            await (_events?.FlushAsync() ?? Task.CompletedTask).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Deactivation cannot wait longer: what is left is lost with the activation.
        }
    }

    public async Task<DeploymentResult> Create(NewDeployment request)
    {
        if (S.Spec is not null)
        {
            throw new InvalidOperationException($"deployment {DeployId} already exists");
        }

        if (await DeploymentAdmission.RefuseCreateAsync(grains, request) is { } refused)
        {
            return DeploymentResult.Refused(refused);
        }

        var quota = grains.GetGrain<IUserQuotaGrain>(request.Spec.Owner);
        if (!await quota.ClaimModelName(request.Spec.ModelName, DeployId))
        {
            // A free name refused means a concurrent create took the last deployment the limit allows.
            return DeploymentResult.Refused(await quota.FindDeployment(request.Spec.ModelName) is null
                ? DeploymentAdmission.DeploymentLimit((await quota.Get())?.MaxDeployments ?? UserLimits.DefaultMaxDeployments)
                : new DeploymentError(DeploymentErrorKind.Conflict, "name_taken",
                    $"A live deployment named '{request.Spec.FullModelName}' already exists.", "model_name"));
        }

        try
        {
            var token = request.HfToken is null ? null : protection.CreateProtector(SecretPurposes.HfToken).Protect(request.HfToken);
            var now = time.GetUtcNow();
            S.Spec = request.Spec with { HfTokenProtected = token };
            S.Status = DeploymentStatus.Initializing;
            S.CreatedAt = now;
            S.UpdatedAt = now;
            S.Run++;
            await _store.WriteAsync();
        }
        catch
        {
            // Nothing was created (a failed write put the state back): the name is free again.
            await quota.ReleaseModelName(request.Spec.ModelName, DeployId);
            throw;
        }

        ReportStatus("created");
        await Routes.PublishAsync(DeployId, S);

        metrics.SetInstances(DeployId, S);
        _placement.Requested();
        StartLoop(TimeSpan.Zero);
        return DeploymentResult.Ok(View());
    }

    public Task<DeploymentView?> Get() => Task.FromResult(S.Spec is null ? null : View());

    public async Task<bool> Delete()
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return false;
        }

        S.SetStatus(DeploymentStatus.Deleted, null, time.GetUtcNow());
        await _store.WriteAsync();
        ReportStatus("deleted by the user");
        await grains.GetGrain<IUserQuotaGrain>(S.Spec.Owner).ReleaseModelName(S.Spec.ModelName, DeployId);
        StartLoop(TimeSpan.Zero);
        return true;
    }

    public async Task<DeploymentResult> UpdateSettings(int minInstances, int maxInstances)
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return NotFound();
        }

        if ((minInstances > S.Spec.MinInstances || maxInstances > S.Spec.MaxInstances) && await DeploymentAdmission.RefuseSpendingAsync(grains, S.Spec.Owner) is { } refused)
        {
            return DeploymentResult.Refused(refused);
        }

        var before = S.Spec;
        S.Spec = S.Spec with { MinInstances = minInstances, MaxInstances = maxInstances };
        Demand.SettingsChanged();
        S.UpdatedAt = time.GetUtcNow();
        S.RefreshStatus(time.GetUtcNow());
        await _store.WriteAsync();
        Events.Add(DeploymentEventKind.SettingsChanged,
            $"settings: instances {before.MinInstances}..{before.MaxInstances} -> {minInstances}..{maxInstances}",
            e => e with { MinInstancesBefore = before.MinInstances, MaxInstancesBefore = before.MaxInstances, MinInstancesAfter = minInstances, MaxInstancesAfter = maxInstances });
        ReportStatus("settings changed");
        if (!S.IsFinished)
        {
            _placement.Requested();
            StartLoop(TimeSpan.Zero);
        }

        return DeploymentResult.Ok(View());
    }

    public async Task<DeploymentView?> Stop()
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return null;
        }

        if (S.Status != DeploymentStatus.Stopped || S.Suspended)
        {
            // A user's stop wins over a billing suspension: it does not resume by itself.
            S.Suspended = false;
            S.SetStatus(DeploymentStatus.Stopped, null, time.GetUtcNow());
            await _store.WriteAsync();
            ReportStatus("stopped by the user");
            StartLoop(TimeSpan.Zero);
        }

        return View();
    }

    public async Task<DeploymentResult> Start()
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return NotFound();
        }

        if (await DeploymentAdmission.RefuseSpendingAsync(grains, S.Spec.Owner) is { } refused)
        {
            return DeploymentResult.Refused(refused);
        }

        if (S.Status is DeploymentStatus.Stopped or DeploymentStatus.Failed)
        {
            if (S.Status == DeploymentStatus.Failed)
            {
                // A failure may come from the weights (repo fixed since, token added): resolve them again.
                S.Commit = null;
                S.WeightsFile = null;
            }

            S.ConsecutiveFailures = 0;
            S.Suspended = false;
            S.Run++;
            S.SetStatus(DeploymentStatus.Initializing, null, time.GetUtcNow());
            S.RefreshStatus(time.GetUtcNow());
            await _store.WriteAsync();
            ReportStatus("started by the user");
            _placement.Requested();
            StartLoop(TimeSpan.Zero);
        }

        return DeploymentResult.Ok(View());
    }

    public async Task OnInstanceUpdate(InstanceUpdate update)
    {
        if (!S.Instances.TryGetValue(update.InstanceId, out var instance))
        {
            // A report about an instance this deployment already forgot: make sure nothing stays reserved.
            if (S.Spec is not null && update.Phase is InstancePhase.Exited or InstancePhase.Failed)
            {
                await grains.GetGrain<IUserQuotaGrain>(S.Spec.Owner).ReleaseGpus(update.InstanceId);
            }

            return;
        }

        if (update.Phase == InstancePhase.Downloading && instance.Phase == InstancePhase.Downloading && update.Download is not null)
        {
            // Progress only: shown by the deploy object, not worth a state write.
            instance.Download = update.Download;
            return;
        }

        log.LogInformation("Deployment {DeployId} instance {InstanceId}: {Phase} {Message}", DeployId, update.InstanceId, update.Phase, update.Message);
        instance.Download = update.Phase == InstancePhase.Downloading ? update.Download : null;
        ReportInstance(instance, update);
        switch (update.Phase)
        {
            case InstancePhase.Exited or InstancePhase.Failed:
                await ForgetAsync(instance, failed: update.Phase == InstancePhase.Failed && !instance.Stopping, update.Message);
                break;
            case InstancePhase.Running:
                if (instance.Phase != InstancePhase.Running)
                {
                    instance.ServingSince = time.GetUtcNow();
                }

                instance.Phase = update.Phase;
                instance.Endpoint = update.Endpoint;
                instance.Secret = update.Secret;
                instance.RunningSince ??= time.GetUtcNow();
                S.ConsecutiveFailures = 0;
                break;
            default:
                if (instance.Phase == InstancePhase.Running && instance.RunningSince is not null)
                {
                    // Restarting after a crash: not serving, not billed, until it runs again.
                    await Meter.PauseAsync(S.Spec!, instance);
                }

                instance.Phase = update.Phase;
                break;
        }

        instance.Message = update.Message;
        S.RefreshStatus(time.GetUtcNow());
        await _store.WriteAsync();
        ReportStatus($"instance {update.InstanceId} {update.Phase.ToString().ToLowerInvariant()}");
        await Routes.PublishAsync(DeployId, S);
        metrics.SetInstances(DeployId, S);
        StartLoop(TimeSpan.Zero);
    }

    public Task Wake() => Task.CompletedTask;

    public async Task NodeLost(string node, DateTimeOffset lastReport)
    {
        var lost = S.Instances.Values.Where(i => i.Node == node).ToList();
        if (S.Spec is null || lost.Count == 0)
        {
            return;
        }

        foreach (var instance in lost)
        {
            log.LogWarning("Deployment {DeployId} lost instance {InstanceId}: node {Node} stopped reporting (last report {LastReport:O})",
                DeployId, instance.Id, node, lastReport);
            Events.Add(DeploymentEventKind.Failed, $"instance {instance.Id} lost: node {node} stopped reporting (lease expired, last report {lastReport:O})",
                e => e with { InstanceId = instance.Id, Node = node, FailureReason = "node lease expired" });
            await ForgetAsync(instance, failed: false, $"lost: node {node} stopped reporting", endedAt: lastReport);
            S.TroubledNodes[node] = time.GetUtcNow();
        }

        S.RefreshStatus(time.GetUtcNow());
        await _store.WriteAsync();
        ReportStatus($"node {node} lost");
        await Routes.PublishAsync(DeployId, S);
        metrics.SetInstances(DeployId, S);
        StartLoop(TimeSpan.Zero);
    }

    /// <summary>Activation already started the loop of a live deployment; one with nothing left to do lets go of its reminder.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        S.Spec is null || !S.HasWork ? SleepAsync() : Task.CompletedTask;

    public async Task OnWeightsResolved(int run, WeightsResolution? resolution)
    {
        Fetch.Done(run);

        // Stale: the deployment stopped, restarted or already has its weights since this run asked.
        if (resolution is null || run != S.Run || S.Spec is null || S.Commit is not null || S.IsFinished)
        {
            return;
        }

        if (resolution.Error is not null)
        {
            S.SetStatus(DeploymentStatus.Failed, resolution.Error, time.GetUtcNow());
        }
        else
        {
            S.Commit = resolution.Commit;
            S.WeightsFile = resolution.File;
            S.WeightsFormat = resolution.Format;
        }

        await _store.WriteAsync();
        ReportStatus(resolution.Error is null ? "weights resolved" : "weights could not be resolved");
        StartLoop(TimeSpan.Zero);
    }

    public Task RequestInstance()
    {
        Demand.Request(time.GetUtcNow());
        if (S.Spec is not null && !S.IsFinished)
        {
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public Task ReportLoad(GatewayLoad load)
    {
        var now = time.GetUtcNow();
        Demand.Report(load, now);
        if (S.Spec is { } spec && !S.IsFinished
            && Demand.Changes(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, S.Instances.Values.Count(i => !i.Stopping), now))
        {
            // Decide now, not at the next tick.
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<InstanceLog>> GetLogs(int lines) =>
        S.Spec is null
            ? Task.FromResult<IReadOnlyList<InstanceLog>>([])
            : NodeLogs.CollectAsync(grains, DeployId, S.Instances.Values.Select(i => i.Node).Concat(S.RecentNodes), lines);

    void StartLoop(TimeSpan due)
    {
        if (_timer is null)
        {
            _timer = this.RegisterGrainTimer(ReconcileAsync, new GrainTimerCreationOptions(due, ReconcilePeriod) { KeepAlive = true });
        }
        else
        {
            _timer.Change(due, ReconcilePeriod);
        }
    }

    async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var spec = S.Spec;
        if (spec is null)
        {
            return;
        }

        if (S.HasWork)
        {
            await KeepAwakeAsync();
        }

        var standing = await Meter.RenewAsync(spec, S.Instances.Values);
        if (S.Suspended && standing.MayRun && S.Status == DeploymentStatus.Stopped)
        {
            log.LogInformation("Deployment {DeployId} resumes: the spending limit allows it again", DeployId);
            Events.Add(DeploymentEventKind.BillingResumed, "resumed: the spending limit allows it again");
            S.Suspended = false;
            S.SetStatus(DeploymentStatus.Initializing, null, time.GetUtcNow());
            S.RefreshStatus(time.GetUtcNow());
        }
        else if (!standing.MayRun && !S.IsFinished)
        {
            S.Suspended = true;
            S.SetStatus(DeploymentStatus.Stopped, standing.Reason, time.GetUtcNow());
            Events.Add(DeploymentEventKind.BillingStopped, $"stopped by billing: {standing.Reason}", e => e with { Reason = standing.Reason });
        }

        await ForgetLostAsync();
        if (S.IsFinished)
        {
            Drain(S.Instances.Values, TimeSpan.Zero);
            await SendStopsAsync();
            await Capacity.ReportAsync(S, 0, waiting: false);
            await _store.WriteAsync();
            ReportStatus(S.FailReason ?? "finished");
            await Routes.PublishAsync(DeployId, S);
            metrics.SetInstances(DeployId, S);
            if (!S.HasWork)
            {
                _timer?.Dispose();
                _timer = null;
                await SleepAsync();
                DeactivateOnIdle();
            }

            return;
        }

        if (S.Commit is null)
        {
            Fetch.Start(S.Run, new WeightsRequest(spec.HfRepo, spec.HfRevision, spec.HfTokenProtected, spec.Quantization, spec.Gpu, spec.NumGpus));
            await _store.WriteAsync();
            await Routes.PublishAsync(DeployId, S);
            metrics.SetInstances(DeployId, S);
            return;
        }

        var live = S.Instances.Values.Where(i => !i.Stopping).ToList();
        var (desired, trigger) = Demand.Decide(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, live.Count, time.GetUtcNow());
        metrics.Scaling(DeployId, live.Count, desired, spec, trigger);
        ReportScaling(spec, live.Count, desired, trigger);
        using var placing = _placement.Start(DeployId, live.Count, desired);
        var placements = desired > live.Count && Meter.Standing.MayRun
            ? await Placer.PlaceAsync(S, desired - live.Count, () => _store.WriteAsync(), n => Capacity.MayPlaceAsync(S, desired, n))
            : [];
        foreach (var placed in placements)
        {
            Events.Add(DeploymentEventKind.Placed, $"instance {placed.InstanceId} placed on {S.Instances[placed.InstanceId].Node}, GPUs {string.Join(',', placed.GpuIndices)}",
                e => e with { InstanceId = placed.InstanceId, Node = S.Instances[placed.InstanceId].Node, Gpus = placed.GpuIndices.ToArray() });
        }

        placing?.Dispose();
        await ReportCapacityAsync(desired);
        if (Placer.GiveUp(S) is { } unplaceable)
        {
            S.SetStatus(DeploymentStatus.Failed, unplaceable, time.GetUtcNow());
        }

        var surplus = live.Count - desired;
        if (surplus > 0)
        {
            // Newest first: the oldest instances are the warmest. Out of the routes now, stopped after the drain delay.
            Drain(live.OrderByDescending(i => i.Seq).Take(surplus), autoscaler.Value.DrainDelay);
        }

        await SendStopsAsync();

        S.RefreshStatus(time.GetUtcNow());
        await _store.WriteAsync();
        ReportStatus(S.Commit is null ? "resolving weights" : "instances changed");
        await Routes.PublishAsync(DeployId, S);
        metrics.SetInstances(DeployId, S);
    }

    /// <summary>A status change since the last one reported becomes an event (wherever it was decided).</summary>
    void ReportStatus(string why)
    {
        if (S.Spec is null || _reportedStatus == S.Status)
        {
            return;
        }

        var from = _reportedStatus;
        _reportedStatus = S.Status;
        var to = S.Status.ToString().ToLowerInvariant();
        Events.Add(DeploymentEventKind.StatusChanged,
            from is null ? $"{to}: {why}" : $"{from.Value.ToString().ToLowerInvariant()} -> {to}: {S.FailReason ?? why}",
            e => e with { FromStatus = from, ToStatus = S.Status, FailureReason = S.Status == DeploymentStatus.Failed ? S.FailReason : null });
    }

    /// <summary>A decision to run another number of instances than live now, with its inputs and what triggered it; once per decision.</summary>
    void ReportScaling(DeploymentSpec spec, int live, int desired, string trigger)
    {
        if (desired == live)
        {
            _reportedScaling = null;
            return;
        }

        if (_reportedScaling == (live, desired))
        {
            return;
        }

        _reportedScaling = (live, desired);
        var (inFlight, waiting, _) = Demand.Totals(time.GetUtcNow());
        var load = inFlight + waiting;
        var reason = desired == spec.MinInstances && desired > live ? "min_instances"
            : desired == spec.MaxInstances && desired < live ? "max_instances"
            : load > 0 ? "load" : desired > live ? "cold start" : "idle";
        var queue = waiting > 0 ? $", {waiting} waiting up to {Demand.OldestWait(time.GetUtcNow()).TotalMilliseconds:F0} ms" : "";
        log.LogInformation("Deployment {DeployId} scales {From} -> {To} ({Reason}, load {Load}{Queue}, trigger {Trigger})", DeployId, live, desired, reason, load, queue, trigger);
        Events.Add(DeploymentEventKind.ScalingDecision,
            $"scale {(desired > live ? "up" : "down")} {live} -> {desired} instances ({reason}, load {load}{queue}, trigger {trigger})",
            e => e with { Load = load, Instances = live, Target = desired, Reason = reason, Trigger = trigger });
    }

    /// <summary>Tells the GPU type's arbiter what the deployment holds and whether it still waits for GPUs; a change in
    /// what is missing and why is an event for the owner ("running N of wanted M: why").</summary>
    async Task ReportCapacityAsync(int desired)
    {
        var live = S.Instances.Values.Count(i => !i.Stopping);
        var refusal = live < desired ? Placer.Refusal : null;
        await Capacity.ReportAsync(S, desired, waiting: refusal is not null && Placer.WaitsForCapacity);
        if (Capacity.Settle(live, desired, refusal))
        {
            Events.Add(DeploymentEventKind.CapacityWait, Capacity.Pending ?? $"no instance waits any more: running {live}, wanted {desired}",
                e => e with { Instances = live, Target = desired, Reason = refusal });
        }
    }

    /// <summary>An instance's new phase; a start after it started already is a restart, a failure says why.</summary>
    void ReportInstance(InstanceRecord instance, InstanceUpdate update)
    {
        if (update.Phase == InstancePhase.Starting && instance.Phase is InstancePhase.Starting or InstancePhase.Running)
        {
            instance.Restarts++;
            Events.Add(DeploymentEventKind.InstanceRestarted, $"instance {instance.Id} restarts ({instance.Restarts}): {update.Message}",
                e => e with { InstanceId = instance.Id, Node = instance.Node, Phase = update.Phase, RestartCount = instance.Restarts, Reason = update.Message });
            return;
        }

        var kind = update.Phase == InstancePhase.Failed ? DeploymentEventKind.Failed : DeploymentEventKind.InstancePhase;
        Events.Add(kind, $"instance {instance.Id} on {instance.Node}: {update.Phase.ToString().ToLowerInvariant()}{(update.Message is null ? "" : ": " + update.Message)}",
            e => e with
            {
                InstanceId = instance.Id,
                Node = instance.Node,
                Phase = update.Phase,
                RestartCount = instance.Restarts,
                FailureReason = update.Phase == InstancePhase.Failed ? update.Message : null,
            });
    }

    /// <summary>A deployment with work to do keeps a reminder, so that it comes back by itself if its silo is
    /// lost. Registered at an activation's first tick (older deployments get theirs that way too) and tried
    /// again at the next one while the reminder service is not ready.</summary>
    async Task KeepAwakeAsync()
    {
        if (_awake)
        {
            return;
        }

        try
        {
            await this.RegisterOrUpdateReminder(WakeReminder, WakePeriod, WakePeriod);
            _awake = true;
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not register the wake-up reminder of {DeployId}; trying again at the next tick", DeployId);
        }
    }

    /// <summary>A finished deployment with nothing left to stop needs no wake-up.</summary>
    async Task SleepAsync()
    {
        if (await this.GetReminder(WakeReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _awake = false;
    }

    /// <summary>Takes instances out of the routes; their stop requests go out once <paramref name="delay"/> passed.</summary>
    void Drain(IEnumerable<InstanceRecord> instances, TimeSpan delay)
    {
        var now = time.GetUtcNow();
        foreach (var instance in instances.Where(i => !i.Stopping || i.DrainUntil > now + delay))
        {
            instance.Stopping = true;
            instance.DrainUntil = now + delay;
        }
    }

    async Task SendStopsAsync()
    {
        var now = time.GetUtcNow();
        foreach (var instance in S.Instances.Values.Where(i => i.Stopping && i.DrainUntil <= now && (i.StopSentAt is null || now - i.StopSentAt > StopResend)).ToList())
        {
            try
            {
                instance.StopSentAt = now;
                if (!await grains.GetGrain<IGpuNodeGrain>(instance.Node).StopInstance(instance.Id))
                {
                    // The node no longer holds it (e.g. it restarted): nothing will report its end.
                    await ForgetAsync(instance, failed: false, "stopped (not on its node)");
                }
            }
            catch (Exception e)
            {
                // The node is unreachable; the request is sent again later.
                log.LogWarning(e, "Could not stop instance {InstanceId} on {Node}", instance.Id, instance.Node);
            }
        }
    }

    /// <summary>Instances whose node's silo the cluster declared dead are gone with it: forget them, so that
    /// replacements are placed on other nodes at once.</summary>
    async Task ForgetLostAsync()
    {
        var snapshot = membership.CurrentSnapshot;
        foreach (var instance in S.Instances.Values.Where(i => i.Silo is not null && snapshot.GetSiloStatus(i.Silo) == SiloStatus.Dead).ToList())
        {
            log.LogWarning("Deployment {DeployId} lost instance {InstanceId}: node {Node} is down", DeployId, instance.Id, instance.Node);
            Events.Add(DeploymentEventKind.Failed, $"instance {instance.Id} lost: node {instance.Node} is down (its silo was declared dead by cluster membership)",
                e => e with { InstanceId = instance.Id, Node = instance.Node, FailureReason = "node down" });
            await ForgetAsync(instance, failed: false, $"lost: node {instance.Node} is down", endedAt: await LastReportAsync(instance.Node));
            S.TroubledNodes[instance.Node] = time.GetUtcNow();
        }
    }

    /// <summary>When a lost node last reported, if the registry knows: its instances are billed until then, not until now.</summary>
    async Task<DateTimeOffset?> LastReportAsync(string node)
    {
        try
        {
            return await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).LastReport(node);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not read the last report of node {Node}", node);
            return null;
        }
    }

    /// <summary>An instance is gone: stop its meter (at <paramref name="endedAt"/> when known, e.g. a lost node's last
    /// report, else now), free its quota, remember its node.</summary>
    async Task ForgetAsync(InstanceRecord instance, bool failed, string? message, DateTimeOffset? endedAt = null)
    {
        S.Instances.Remove(instance.Id);
        S.RecentNodes.Remove(instance.Node);
        S.RecentNodes.Add(instance.Node);
        if (S.RecentNodes.Count > 8)
        {
            S.RecentNodes.RemoveAt(0);
        }

        if (instance.RunningSince is { } since)
        {
            await Meter.StopAsync(S.Spec!, instance, endedAt is { } at ? (at > since ? at : since) : null);
        }

        if (failed)
        {
            S.TroubledNodes[instance.Node] = time.GetUtcNow();
            S.ConsecutiveFailures++;
            if (S.ConsecutiveFailures >= MaxConsecutiveFailures && !S.IsFinished)
            {
                S.SetStatus(DeploymentStatus.Failed, $"instance failed {S.ConsecutiveFailures} times in a row: {message}", time.GetUtcNow());
            }
        }

        await grains.GetGrain<IUserQuotaGrain>(S.Spec!.Owner).ReleaseGpus(instance.Id);
    }

    DeploymentResult NotFound() =>
        DeploymentResult.Refused(new DeploymentError(DeploymentErrorKind.NotFound, "not_found", $"No deployment '{DeployId}'.", "deploy_id"));

    DeploymentView View()
    {
        var spec = S.Spec!;
        var running = S.Instances.Values.Count(i => i.Phase == InstancePhase.Running && !i.Stopping);
        var pending = S.IsFinished ? 0 : Math.Max(0, Demand.Target(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, time.GetUtcNow()) - running);
        return new DeploymentView(DeployId, spec.ModelName, spec.Owner, S.Status, S.FailReason, S.CreatedAt, S.UpdatedAt,
            running, pending, spec.Gpu, spec.NumGpus, spec.MaxBatchSize, spec.HfRepo, spec.HfRevision,
            spec.MinInstances, spec.MaxInstances, spec.Quantization, S.WeightsFile,
            S.Status == DeploymentStatus.Downloading ? S.SlowestDownload() : null,
            S.IsFinished ? null : _capacity?.Pending);
    }
}
