using DeepDeploy.Contracts.Deployments;
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
    Serializer<DeploymentState> serializer,
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
    readonly SavedState<DeploymentState> _store = new(state, copier, serializer);

    /// <summary>Instances that fail this many times in a row without ever serving fail the deployment.</summary>
    public const int MaxConsecutiveFailures = 3;

    static readonly TimeSpan ReconcilePeriod = TimeSpan.FromSeconds(2);

    IGrainTimer? _timer;
    RoutePublisher? _routes;
    InstanceDemand? _demandState;
    DeploymentMeter? _meter;
    WeightsFetch? _fetch;
    InstancePlacer? _placer;
    CapacityClaims? _capacity;
    DeploymentEvents? _events;
    InstanceLifecycle? _lifecycle;
    InstanceStops? _stops;
    WakeReminder? _reminder;
    InstanceScaling? _scaling;

    // Made at activation: it starts from the stored status.
    ChangeReports _reports = null!;
    readonly PlacementTrace _placement = new();

    DeploymentMeter Meter => _meter ??= new DeploymentMeter(DeployId, grains, time, prices.Value, log);

    InstancePlacer Placer => _placer ??= new InstancePlacer(DeployId, grains, time, options.Value, log);

    CapacityClaims Capacity => _capacity ??= new CapacityClaims(DeployId, grains, time, log);

    WeightsFetch Fetch => _fetch ??= new WeightsFetch(weights, this.AsReference<IWeightsListener>(), DeployId, log);

    InstanceDemand Demand => _demandState ??= new InstanceDemand(autoscaler.Value);

    RoutePublisher Routes => _routes ??= new RoutePublisher(grains, log);

    DeploymentEvents Events => _events ??= new DeploymentEvents(DeployId, S.Spec?.Owner, grains, time, log);

    InstanceLifecycle Lifecycle => _lifecycle ??= new InstanceLifecycle(DeployId, grains, time, Meter, () => Events, log);

    InstanceStops Stops => _stops ??= new InstanceStops(grains, time, Lifecycle, log);

    WakeReminder Reminder => _reminder ??= new WakeReminder(this, DeployId, log);

    InstanceScaling Scaling => _scaling ??=
        new InstanceScaling(DeployId, Demand, Placer, Capacity, Stops, Lifecycle, _reports, _placement, metrics, autoscaler.Value, time, () => Events);

    string DeployId => this.GetPrimaryKeyString();

    DeploymentState S => _store.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _reports = new ChangeReports(DeployId, Demand, time, () => Events, log, state.RecordExists ? S.Status : null);
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

        if (await DeploymentAdmission.RefuseNameAsync(grains, request.Spec, DeployId) is { } taken)
        {
            return DeploymentResult.Refused(taken);
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
            await grains.GetGrain<IUserQuotaGrain>(request.Spec.Owner).ReleaseModelName(request.Spec.ModelName, DeployId);
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
        _reports.Settings(before, S.Spec);
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
        if (!await Lifecycle.ApplyAsync(S, update))
        {
            return;
        }

        S.RefreshStatus(time.GetUtcNow());
        await SaveAndPublishAsync($"instance {update.InstanceId} {update.Phase.ToString().ToLowerInvariant()}");
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

        await Lifecycle.NodeLostAsync(S, lost, node, lastReport);
        S.RefreshStatus(time.GetUtcNow());
        await SaveAndPublishAsync($"node {node} lost");
        StartLoop(TimeSpan.Zero);
    }

    /// <summary>Activation already started the loop of a live deployment; one with nothing left to do lets go of its reminder.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        S.Spec is null || !S.HasWork ? Reminder.SleepAsync() : Task.CompletedTask;

    public async Task OnWeightsResolved(int run, WeightsResolution? resolution)
    {
        Fetch.Done(run);
        if (!WeightsFetch.Apply(S, run, resolution, time.GetUtcNow()))
        {
            return;
        }

        if (resolution.Error is not null)
        {
            await _store.WriteAsync();
            ReportStatus("weights could not be resolved");
        }

        // Resolved weights are not written on their own: the tick started now writes them with the instances it records
        // before any node is asked (or at its end), and an activation that dies first resolves them again.
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
            await Reminder.KeepAwakeAsync();
        }

        BillingSuspension.Apply(DeployId, S, await Meter.RenewAsync(spec, S.Instances.Values), Events, time, log);
        await Lifecycle.ForgetLostAsync(S, membership.CurrentSnapshot);
        if (S.IsFinished)
        {
            Stops.Drain(S.Instances.Values, TimeSpan.Zero);
            await Stops.SendAsync(S);
            await Capacity.ReportAsync(S, 0, waiting: false);
            await SaveAndPublishAsync(S.FailReason ?? "finished");
            if (!S.HasWork)
            {
                _timer?.Dispose();
                _timer = null;
                await Reminder.SleepAsync();
                DeactivateOnIdle();
            }

            return;
        }

        if (S.Commit is null)
        {
            Fetch.Start(S.Run, new WeightsRequest(spec.HfRepo, spec.HfRevision, spec.HfTokenProtected, spec.Quantization, spec.Gpu, spec.NumGpus));
            await _store.WriteIfChangedAsync();
            await Routes.PublishAsync(DeployId, S);
            metrics.SetInstances(DeployId, S);
            return;
        }

        // The status first (e.g. deploying, once the weights are known), so that the placement's write saves it too.
        S.RefreshStatus(time.GetUtcNow());
        await Scaling.ScaleAsync(S, spec, Meter.Standing.MayRun, () => _store.WriteAsync());
        await Stops.SendAsync(S);

        S.RefreshStatus(time.GetUtcNow());
        await SaveAndPublishAsync(S.Commit is null ? "resolving weights" : "instances changed");
    }

    void ReportStatus(string why) => _reports.Status(S, why);

    /// <summary>After a change: saved first, then reported, routed and measured. A tick that changed nothing writes
    /// nothing (it ran every 2 s for each of 2,000 deployments).</summary>
    async Task SaveAndPublishAsync(string why)
    {
        await _store.WriteIfChangedAsync();
        ReportStatus(why);
        await Routes.PublishAsync(DeployId, S);
        metrics.SetInstances(DeployId, S);
    }

    DeploymentResult NotFound() =>
        DeploymentResult.Refused(new DeploymentError(DeploymentErrorKind.NotFound, "not_found", $"No deployment '{DeployId}'.", "deploy_id"));

    DeploymentView View() =>
        DeploymentViews.Of(DeployId, S, spec => Demand.Target(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, time.GetUtcNow()), _capacity?.Pending);
}
