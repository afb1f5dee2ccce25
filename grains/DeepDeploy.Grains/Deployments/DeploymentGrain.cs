using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// A deployment's control loop. Level-triggered: every tick (and right after any change) it compares the
/// instances it has with the instances it wants and acts on the difference, so that a lost report, a
/// restart or a full cluster all heal the same way.
/// </summary>
public sealed class DeploymentGrain(
    [PersistentState("deployment", StorageNames.Default)] IPersistentState<DeploymentState> state,
    IGrainFactory grains,
    IWeightsResolver weights,
    TimeProvider time,
    IOptions<GpuPrices> prices,
    IOptions<AutoscalerOptions> autoscaler,
    IClusterMembershipService membership,
    ILogger<DeploymentGrain> log) : Grain, IDeploymentGrain
{
    /// <summary>Instances that fail this many times in a row without ever serving fail the deployment.</summary>
    public const int MaxConsecutiveFailures = 3;

    /// <summary>How long a node where an instance failed or was lost is placed last.</summary>
    static readonly TimeSpan TroubleMemory = TimeSpan.FromMinutes(5);

    /// <summary>A stop request not answered by the instance's end is sent again after this long.</summary>
    static readonly TimeSpan StopResend = TimeSpan.FromSeconds(15);

    static readonly TimeSpan ReconcilePeriod = TimeSpan.FromSeconds(2);

    IGrainTimer? _timer;
    BillingStanding _standing = new(true, null);
    RoutePublisher? _routes;
    InstanceDemand? _demandState;

    InstanceDemand Demand => _demandState ??= new InstanceDemand(autoscaler.Value);

    RoutePublisher Routes => _routes ??= new RoutePublisher(grains, log);

    string DeployId => this.GetPrimaryKeyString();

    DeploymentState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A finished deployment may still have instances to stop.
        if (state.RecordExists && (!IsFinished() || S.Instances.Count > 0 || S.Suspended))
        {
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public async Task<DeploymentView> Create(DeploymentSpec spec)
    {
        if (S.Spec is not null)
        {
            throw new InvalidOperationException($"deployment {DeployId} already exists");
        }

        var now = time.GetUtcNow();
        S.Spec = spec;
        S.Status = DeploymentStatus.Initializing;
        S.CreatedAt = now;
        S.UpdatedAt = now;
        await state.WriteStateAsync();
        await Routes.PublishAsync(DeployId, S);
        StartLoop(TimeSpan.Zero);
        return View();
    }

    public Task<DeploymentView?> Get() => Task.FromResult(S.Spec is null ? null : View());

    public async Task<bool> Delete()
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return false;
        }

        SetStatus(DeploymentStatus.Deleted, null);
        await state.WriteStateAsync();
        await grains.GetGrain<IUserQuotaGrain>(S.Spec.Owner).ReleaseModelName(S.Spec.ModelName, DeployId);
        StartLoop(TimeSpan.Zero);
        return true;
    }

    public async Task<DeploymentView?> UpdateSettings(int minInstances, int maxInstances)
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return null;
        }

        S.Spec = S.Spec with { MinInstances = minInstances, MaxInstances = maxInstances };
        Demand.SettingsChanged();
        S.UpdatedAt = time.GetUtcNow();
        RefreshStatus();
        await state.WriteStateAsync();
        if (!IsFinished())
        {
            StartLoop(TimeSpan.Zero);
        }

        return View();
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
            SetStatus(DeploymentStatus.Stopped, null);
            await state.WriteStateAsync();
            StartLoop(TimeSpan.Zero);
        }

        return View();
    }

    public async Task<DeploymentView?> Start()
    {
        if (S.Spec is null || S.Status == DeploymentStatus.Deleted)
        {
            return null;
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
            SetStatus(DeploymentStatus.Initializing, null);
            RefreshStatus();
            await state.WriteStateAsync();
            StartLoop(TimeSpan.Zero);
        }

        return View();
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
        switch (update.Phase)
        {
            case InstancePhase.Exited or InstancePhase.Failed:
                await ForgetAsync(instance, failed: update.Phase == InstancePhase.Failed && !instance.Stopping, update.Message);
                break;
            case InstancePhase.Running:
                instance.Phase = update.Phase;
                instance.Endpoint = update.Endpoint;
                instance.RunningSince ??= time.GetUtcNow();
                S.ConsecutiveFailures = 0;
                break;
            default:
                if (instance.Phase == InstancePhase.Running && instance.RunningSince is not null)
                {
                    // Restarting after a crash: not serving, not billed, until it runs again.
                    await PauseMeterAsync(instance);
                }

                instance.Phase = update.Phase;
                break;
        }

        instance.Message = update.Message;
        RefreshStatus();
        await state.WriteStateAsync();
        await Routes.PublishAsync(DeployId, S);
        StartLoop(TimeSpan.Zero);
    }

    public Task Wake() => Task.CompletedTask;

    public Task RequestInstance()
    {
        Demand.Request(time.GetUtcNow());
        if (S.Spec is not null && !IsFinished())
        {
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public Task ReportLoad(GatewayLoad load)
    {
        var now = time.GetUtcNow();
        Demand.Report(load, now);
        if (S.Spec is { } spec && !IsFinished()
            && Demand.Target(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, now) > S.Instances.Values.Count(i => !i.Stopping))
        {
            // Scale up now, not at the next tick.
            StartLoop(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<InstanceLog>> GetLogs(int lines)
    {
        if (S.Spec is null)
        {
            return [];
        }

        var logs = new List<InstanceLog>();
        foreach (var node in S.Instances.Values.Select(i => i.Node).Concat(S.RecentNodes).Distinct())
        {
            try
            {
                logs.AddRange(await grains.GetGrain<IGpuNodeGrain>(node).GetLogs(DeployId, lines));
            }
            catch (Exception e)
            {
                logs.Add(new InstanceLog($"{node}: unreachable", node, false, [e.Message]));
            }
        }

        return logs;
    }

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

        _standing = await MeterAsync();
        if (S.Suspended && _standing.MayRun && S.Status == DeploymentStatus.Stopped)
        {
            log.LogInformation("Deployment {DeployId} resumes: the spending limit allows it again", DeployId);
            S.Suspended = false;
            SetStatus(DeploymentStatus.Initializing, null);
            RefreshStatus();
        }
        else if (!_standing.MayRun && !IsFinished())
        {
            S.Suspended = true;
            SetStatus(DeploymentStatus.Stopped, _standing.Reason);
        }

        await ForgetLostAsync();
        if (IsFinished())
        {
            Drain(S.Instances.Values, TimeSpan.Zero);
            await SendStopsAsync();
            await state.WriteStateAsync();
            await Routes.PublishAsync(DeployId, S);
            if (S.Instances.Count == 0 && !S.Suspended)
            {
                _timer?.Dispose();
                _timer = null;
                DeactivateOnIdle();
            }

            return;
        }

        if (S.Commit is null)
        {
            var resolved = await weights.ResolveAsync(
                new WeightsRequest(spec.HfRepo, spec.HfRevision, spec.HfTokenProtected, spec.Quantization, spec.Gpu, spec.NumGpus), cancellationToken);
            if (resolved.Error is not null)
            {
                SetStatus(DeploymentStatus.Failed, resolved.Error);
                await state.WriteStateAsync();
                return;
            }

            S.Commit = resolved.Commit;
            S.WeightsFile = resolved.File;
            S.WeightsFormat = resolved.Format;
            await state.WriteStateAsync();
        }

        var live = S.Instances.Values.Where(i => !i.Stopping).ToList();
        var desired = Demand.Desired(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, live.Count, time.GetUtcNow());
        for (var n = live.Count; n < desired; n++)
        {
            if (!await TryPlaceAsync(spec))
            {
                break;
            }
        }

        var surplus = live.Count - desired;
        if (surplus > 0)
        {
            // Newest first: the oldest instances are the warmest. Out of the routes now, stopped after the drain delay.
            Drain(live.OrderByDescending(i => i.Seq).Take(surplus), autoscaler.Value.DrainDelay);
        }

        await SendStopsAsync();

        RefreshStatus();
        await state.WriteStateAsync();
        await Routes.PublishAsync(DeployId, S);
    }

    /// <summary>Starts the meters of instances that began serving, renews those still serving, and learns
    /// whether the user may run. A billing outage never stops the control loop.</summary>
    async Task<BillingStanding> MeterAsync()
    {
        var spec = S.Spec!;
        var ledger = grains.GetGrain<IBillingLedgerGrain>(spec.Owner);
        try
        {
            var serving = S.Instances.Values.Where(i => i.RunningSince is not null && i.Phase == InstancePhase.Running).ToList();
            foreach (var instance in serving.Where(i => !i.Metered))
            {
                await ledger.MeterStart(MeterStartOf(instance));
                instance.Metered = true;
            }

            return await ledger.Renew(serving.Select(i => i.Id).ToArray(), time.GetUtcNow());
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Billing ledger of {User} unreachable", spec.Owner);
            return _standing;
        }
    }

    MeterStart MeterStartOf(InstanceRecord instance) =>
        new(instance.Id, DeployId, $"{S.Spec!.Owner}/{S.Spec.ModelName}", S.Spec.Gpu, S.Spec.NumGpus, prices.Value.Of(S.Spec.Gpu), instance.RunningSince!.Value);

    async Task PauseMeterAsync(InstanceRecord instance)
    {
        try
        {
            await grains.GetGrain<IBillingLedgerGrain>(S.Spec!.Owner).MeterPause(instance.Id, time.GetUtcNow());
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not pause the meter of {InstanceId}", instance.Id);
        }
    }

    async Task StopMeterAsync(InstanceRecord instance)
    {
        var spec = S.Spec!;
        var ledger = grains.GetGrain<IBillingLedgerGrain>(spec.Owner);
        try
        {
            if (!instance.Metered)
            {
                await ledger.MeterStart(MeterStartOf(instance));
            }

            await ledger.MeterStop(instance.Id, time.GetUtcNow());
        }
        catch (Exception e)
        {
            // The meter's lease runs out instead: billed until its last renewal.
            log.LogWarning(e, "Could not stop the meter of {InstanceId}", instance.Id);
        }
    }

    async Task<bool> TryPlaceAsync(DeploymentSpec spec)
    {
        if (!_standing.MayRun)
        {
            return false;
        }

        var instanceId = $"{DeployId}-{S.NextInstance + 1}";
        var quota = grains.GetGrain<IUserQuotaGrain>(spec.Owner);
        if (!await quota.TryReserveGpus(instanceId, spec.NumGpus))
        {
            return false;
        }

        var now = time.GetUtcNow();
        foreach (var old in S.TroubledNodes.Where(t => now - t.Value > TroubleMemory).Select(t => t.Key).ToList())
        {
            S.TroubledNodes.Remove(old);
        }

        var replicas = S.Instances.Values.Where(i => !i.Stopping).GroupBy(i => i.Node).ToDictionary(g => g.Key, g => g.Count());
        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key)
            .FindNodes(spec.Gpu, spec.NumGpus, replicas, S.TroubledNodes.Keys.ToArray());
        var launch = new InstanceLaunch(instanceId, DeployId, $"{spec.Owner}/{spec.ModelName}", spec.Gpu, spec.NumGpus, spec.MaxBatchSize,
            spec.HfRepo, S.Commit!, S.WeightsFile!, spec.HfTokenProtected, spec.ExtraArgs, spec.Quantization,
            S.WeightsFormat ?? WeightsFormats.Gguf);
        foreach (var node in nodes)
        {
            // Record the intent first: a crash between here and the node's answer leaves a record the
            // node's next registration clears, never GPUs nobody knows about.
            S.NextInstance++;
            S.Instances[instanceId] = new InstanceRecord { Id = instanceId, Node = node, Phase = InstancePhase.Placed, Seq = S.NextInstance };
            await state.WriteStateAsync();
            NodeAllocation? allocation;
            try
            {
                allocation = await grains.GetGrain<IGpuNodeGrain>(node).StartInstance(launch);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Node {Node} did not take instance {InstanceId}", node, instanceId);
                allocation = null;
            }

            if (allocation is not null)
            {
                S.Instances[instanceId].Silo = allocation.Silo;
                return true;
            }

            S.Instances.Remove(instanceId);
        }

        await quota.ReleaseGpus(instanceId);
        return false;
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
            await ForgetAsync(instance, failed: false, $"lost: node {instance.Node} is down");
            S.TroubledNodes[instance.Node] = time.GetUtcNow();
        }
    }

    /// <summary>An instance is gone: stop its meter, free its quota, remember its node.</summary>
    async Task ForgetAsync(InstanceRecord instance, bool failed, string? message)
    {
        S.Instances.Remove(instance.Id);
        S.RecentNodes.Remove(instance.Node);
        S.RecentNodes.Add(instance.Node);
        if (S.RecentNodes.Count > 8)
        {
            S.RecentNodes.RemoveAt(0);
        }

        if (instance.RunningSince is not null)
        {
            await StopMeterAsync(instance);
        }

        if (failed)
        {
            S.TroubledNodes[instance.Node] = time.GetUtcNow();
            S.ConsecutiveFailures++;
            if (S.ConsecutiveFailures >= MaxConsecutiveFailures && !IsFinished())
            {
                SetStatus(DeploymentStatus.Failed, $"instance failed {S.ConsecutiveFailures} times in a row: {message}");
            }
        }

        await grains.GetGrain<IUserQuotaGrain>(S.Spec!.Owner).ReleaseGpus(instance.Id);
    }

    bool IsFinished() => S.Status is DeploymentStatus.Deleted or DeploymentStatus.Stopped or DeploymentStatus.Failed;

    void RefreshStatus()
    {
        if (IsFinished() || S.Spec is null)
        {
            return;
        }

        var live = S.Instances.Values.Where(i => !i.Stopping).ToList();
        var status = S.Commit is null ? DeploymentStatus.Initializing
            : live.Any(i => i.Phase == InstancePhase.Running) ? DeploymentStatus.Running
            : S.Spec.MinInstances == 0 && live.Count == 0 ? DeploymentStatus.Running
            : live.Any(i => i.Phase == InstancePhase.Downloading) ? DeploymentStatus.Downloading
            : DeploymentStatus.Deploying;
        SetStatus(status, null);
    }

    void SetStatus(DeploymentStatus status, string? failReason)
    {
        if (S.Status != status || S.FailReason != failReason)
        {
            S.Status = status;
            S.FailReason = failReason;
            S.UpdatedAt = time.GetUtcNow();
        }
    }

    DeploymentView View()
    {
        var spec = S.Spec!;
        var running = S.Instances.Values.Count(i => i.Phase == InstancePhase.Running && !i.Stopping);
        var pending = IsFinished() ? 0 : Math.Max(0, Demand.Target(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, time.GetUtcNow()) - running);
        return new DeploymentView(DeployId, spec.ModelName, spec.Owner, S.Status, S.FailReason, S.CreatedAt, S.UpdatedAt,
            running, pending, spec.Gpu, spec.NumGpus, spec.MaxBatchSize, spec.HfRepo, spec.HfRevision,
            spec.MinInstances, spec.MaxInstances, spec.Quantization, S.WeightsFile,
            S.Status == DeploymentStatus.Downloading ? SlowestDownload() : null);
    }

    /// <summary>The download of the instance furthest from done (instances on one node share theirs).</summary>
    DownloadProgress? SlowestDownload() => S.Instances.Values
        .Where(i => !i.Stopping && i.Phase == InstancePhase.Downloading && i.Download is { BytesTotal: > 0 })
        .Select(i => i.Download!)
        .OrderBy(d => (double)d.BytesDone / d.BytesTotal)
        .FirstOrDefault();
}
