using System.Collections.Concurrent;
using System.Diagnostics;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Node.Engines;
using DeepDeploy.Node.Telemetry;
using DeepDeploy.Node.Weights;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Node;

/// <summary>
/// Runs this host's engine processes, outside the grain scheduler. The GpuNode grain commands it; it reports
/// each instance's progress to its deployment and frees the GPUs through the node grain when a process is gone.
/// The coordinator: processes, health, restarts, ports and logs are the types in <see cref="Engines"/>.
/// </summary>
public sealed class NodeAgent(
    IGrainFactory grains,
    IOptions<NodeOptions> options,
    NodePaths paths,
    WeightsCache weights,
    IHttpClientFactory http,
    NodeMetrics metrics,
    EngineLogPublisher logs,
    ILogger<NodeAgent> log) : INodeAgent, ILifecycleParticipant<ISiloLifecycle>
{
    readonly ConcurrentDictionary<string, EngineInstance> _instances = new();
    readonly EndedInstances _ended = new();
    readonly EngineLauncher _launcher = new(new PidFiles(paths.RunDirectory), new EngineUsers(options.Value.EngineUsers), new EngineSandbox(paths), logs);
    readonly EngineProbe _probe = new(options.Value, http);
    readonly RestartPolicy _restarts = new(options.Value);
    readonly PortAllocator _ports = new(options.Value.EnginePortFirst, options.Value.EnginePortLast);
    /// <summary>Deployments this node could not tell of an instance that ended with an earlier run (deploy id → instance id).</summary>
    readonly ConcurrentDictionary<string, string> _untold = new();
    readonly CancellationTokenSource _stopping = new();
    NodeInfo? _info;
    volatile bool _shuttingDown;

    /// <summary>The longest pause between two tries of a registration that failed at start.</summary>
    static readonly TimeSpan MaxRegisterDelay = TimeSpan.FromSeconds(10);

    NodeOptions Options => options.Value;

    public string NodeName => Options.Name;

    /// <summary>Whether this run registered the node's GPUs with its GpuNode grain (the node's readiness).</summary>
    public bool Registered { get; private set; }

    /// <summary>Deployments that could not be told that their instance ended when this node (re)registered: their grains
    /// failed to activate (the node's health check names them).</summary>
    public IReadOnlyCollection<string> UntoldDeployments => _untold.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Live instances on this node (for tests and diagnostics).</summary>
    public IReadOnlyCollection<EngineInstance> Instances => _instances.Values.ToArray();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeAgent), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    public void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
    {
        var instance = new EngineInstance(launch, gpuIndices);
        if (_instances.TryAdd(launch.InstanceId, instance))
        {
            // Off the grain scheduler: everything after this runs on the thread pool.
            instance.Run = Task.Run(() => RunAsync(instance));
        }
    }

    public void Stop(string instanceId, string deployId)
    {
        if (_instances.TryGetValue(instanceId, out var instance))
        {
            _ = Task.Run(() => _launcher.StopAsync(instance, Options.StopGrace));
        }
        else
        {
            _ = Task.Run(() => ReportGoneAsync(instanceId, deployId, InstancePhase.Exited, "stopped (no process)"));
        }
    }

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines)
    {
        var live = _instances.Values.Where(i => i.Launch.DeployId == deployId).Select(i => (Instance: i, Running: true));
        var ended = _ended.Of(deployId).Select(i => (Instance: i, Running: false));
        return live.Concat(ended)
            .Select(e => new InstanceLog(e.Instance.Launch.InstanceId, NodeName, e.Running, e.Instance.Output.LastLines(lines)))
            .ToArray();
    }

    /// <summary>Load of a running instance read from its engine's own metrics; null when unknown.</summary>
    public Task<double?> ReadEngineLoadAsync(string instanceId, CancellationToken cancellationToken) =>
        _instances.TryGetValue(instanceId, out var instance) && instance.Endpoint is { } endpoint
            ? _probe.ReadLoadAsync(instance, endpoint, cancellationToken)
            : Task.FromResult<double?>(null);

    async Task StartAsync(CancellationToken cancellationToken)
    {
        var killed = _launcher.KillOrphans();
        if (killed > 0)
        {
            log.LogWarning("Killed {Count} engine processes orphaned by an earlier run", killed);
        }

        weights.Start();
        if (Directory.Exists(paths.EnginesDirectory))
        {
            Directory.Delete(paths.EnginesDirectory, recursive: true);
        }

        _info = GpuDiscovery.Discover(Options) with { Engines = EngineSelection.Advertised(Options) };
        log.LogInformation("GPU node {Node}: {Count} GPUs ({Kind}): {Gpus}", _info.Name, _info.Gpus.Count,
            _info.Simulated ? "simulated" : "nvidia-smi", string.Join(", ", _info.Gpus.Select(g => $"{g.Index}:{g.Type}")));
        try
        {
            await RegisterAsync("node restarted");
        }
        catch (Exception e)
        {
            // Storage briefly away, the registry's silo being replaced: the silo still starts (not ready until the
            // node registers) and keeps trying; its engines were killed above, so nothing runs unaccounted.
            log.LogWarning(e, "GPU node {Node}: registration failed; trying again in the background", NodeName);
            _ = RetryRegisterAsync(_stopping.Token);
        }
    }

    async Task RetryRegisterAsync(CancellationToken stopping)
    {
        for (var delay = TimeSpan.FromSeconds(1); !stopping.IsCancellationRequested; delay = delay * 2 > MaxRegisterDelay ? MaxRegisterDelay : delay * 2)
        {
            try
            {
                await Task.Delay(delay, stopping);
                await RegisterAsync("node restarted");
                log.LogInformation("GPU node {Node} registered", NodeName);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "GPU node {Node}: registration failed again; still trying", NodeName);
            }
        }
    }

    /// <summary>The registry let this node's lease expire (it stopped reporting for a while, e.g. a stalled host or a
    /// cut network): its deployments have placed its instances elsewhere. So its engines stop — before the node
    /// registers, which frees their GPUs — and it registers afresh, with every GPU free and no engine left running.</summary>
    public async Task RejoinAsync()
    {
        var running = _instances.Values.ToArray();
        log.LogWarning("GPU node {Node}: lease expired; stopping its {Count} engines (replaced elsewhere) and registering again", NodeName, running.Length);
        await Task.WhenAll(running.Select(i => _launcher.StopAsync(i, Options.StopGrace)));
        await Task.WhenAll(running.Select(i => i.Run));
        await RegisterAsync("node lease expired");
    }

    /// <summary>Registers the node's GPUs. Allocations of an earlier run are gone (their engines were killed as orphans
    /// or stopped): their deployments are told. One deployment that cannot be told (its grain fails to activate,
    /// e.g. a corrupt state row) must not keep the node from starting: it is logged, put on the operators' event
    /// feed and shown by the node's health check, and its reminder or the next report tries again.</summary>
    async Task RegisterAsync(string reason)
    {
        var info = _info ?? throw new InvalidOperationException("GPU discovery has not run");
        var stale = await grains.GetGrain<IGpuNodeGrain>(info.Name).Register(info);
        Registered = true;
        foreach (var allocation in stale)
        {
            try
            {
                await grains.GetGrain<IDeploymentGrain>(allocation.DeployId)
                    .OnInstanceUpdate(new InstanceUpdate(allocation.InstanceId, InstancePhase.Exited, null, reason));
                _untold.TryRemove(allocation.DeployId, out _);
            }
            catch (Exception e)
            {
                _untold[allocation.DeployId] = allocation.InstanceId;
                log.LogError(e, "GPU node {Node}: could not tell deployment {DeployId} that instance {InstanceId} ended ({Reason}); the node starts anyway",
                    NodeName, allocation.DeployId, allocation.InstanceId, reason);
                await PostUntoldAsync(allocation, reason);
            }
        }
    }

    async Task PostUntoldAsync(NodeAllocation allocation, string reason)
    {
        try
        {
            await grains.GetGrain<IEventLogGrain>(EventStreams.ClusterKey).Append([
                new DeploymentEvent(0, DateTimeOffset.UtcNow, DeploymentEventKind.Failed, allocation.DeployId,
                    $"node {NodeName} could not tell deployment {allocation.DeployId} that instance {allocation.InstanceId} ended ({reason}): the deployment is unavailable")
                {
                    InstanceId = allocation.InstanceId,
                    Node = NodeName,
                    FailureReason = "deployment unavailable",
                },
            ]);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not post to the cluster event feed");
        }
    }

    async Task StopAsync(CancellationToken cancellationToken)
    {
        // Engines must not outlive their silo; deployments place them again when the node comes back.
        _shuttingDown = true;
        await _stopping.CancelAsync();
        await Task.WhenAll(_instances.Values.Select(i => _launcher.StopAsync(i, Options.StopGrace)));
    }

    /// <summary>One instance's life: fetch the weights, then run the engine, restarting it in place after a
    /// crash or failed health checks as the <see cref="RestartPolicy"/> says; when it gives up the instance
    /// fails and its deployment places a replacement elsewhere.</summary>
    async Task RunAsync(EngineInstance instance)
    {
        var launch = instance.Launch;
        var launching = NodeActivity.StartLaunch(launch, NodeName);
        var phase = InstancePhase.Failed;
        string? message = null;
        WeightsLease? lease = null;
        try
        {
            // Before any download: a node without an engine for the format says so at once.
            (instance.EngineName, instance.Profile) = EngineSelection.Select(Options, launch);
            if (instance.Profile is { } profile)
            {
                ExtraArgsPolicy.Ensure(instance.EngineName, profile, launch.ExtraArgs);
            }

            await ReportAsync(launch, InstancePhase.Downloading, null, null);
            using (NodeActivity.Start("deepdeploy.weights.acquire", launch))
            {
                lease = await weights.AcquireAsync(launch, instance.Profile,
                    progress => ReportAsync(launch, InstancePhase.Downloading, null, null, progress), instance.StopToken);
            }

            await ReportAsync(launch, InstancePhase.Starting, null, null);
            for (var restarts = 0; ; restarts++)
            {
                string endpoint;
                using (NodeActivity.Start("deepdeploy.engine.start", launch))
                {
                    endpoint = instance.Endpoint = await _launcher.StartAsync(instance, Command(instance, _launcher.PrepareWeights(paths.EngineDirectory(launch.InstanceId), lease.Path)));
                    await _probe.WaitHealthyAsync(instance, endpoint);
                }

                await ReportAsync(launch, InstancePhase.Running, endpoint, null, secret: instance.Secret);
                NodeActivity.End(launching, null);
                launching = null;
                var ranFor = Stopwatch.StartNew();
                message = await _probe.SuperviseAsync(instance, endpoint);
                if (instance.Stopping)
                {
                    (phase, message) = (InstancePhase.Exited, "stopped");
                    break;
                }

                restarts = _restarts.Count(restarts, ranFor.Elapsed);
                if (_restarts.GivesUp(restarts))
                {
                    message = $"crashed {restarts + 1} times; last: {message}";
                    break;
                }

                var backoff = _restarts.Backoff(restarts);
                metrics.EngineRestarted(launch.DeployId);
                log.LogWarning("Instance {InstanceId}: {Message}; restarting in {Backoff}", launch.InstanceId, message, backoff);
                // Out of the routes at once, not after the backoff.
                await ReportAsync(launch, InstancePhase.Starting, null, $"restart {restarts + 1} in {backoff.TotalSeconds:0.#} s after: {message}");
                await EngineLauncher.KillAsync(instance);
                await Task.Delay(backoff, instance.StopToken);
            }
        }
        catch (Exception) when (instance.Stopping)
        {
            (phase, message) = (InstancePhase.Exited, "stopped");
        }
        catch (Exception e)
        {
            message = e.Message;
            log.LogWarning(e, "Instance {InstanceId} failed", launch.InstanceId);
        }
        finally
        {
            NodeActivity.End(launching, message);
            await EngineLauncher.KillAsync(instance);
            _launcher.Release(instance);
            lease?.Dispose();
            if (instance.Port is { } port)
            {
                _ports.Release(port);
            }

            _launcher.Pids.Delete(launch.InstanceId);
            DeleteWorkingDirectory(launch.InstanceId);
            _instances.TryRemove(launch.InstanceId, out _);
            _ended.Remember(instance);
        }

        await ReportGoneAsync(launch.InstanceId, launch.DeployId, phase, message);
    }

    /// <summary>The built-in worker, or the instance's engine profile on a port of the node's range.</summary>
    EngineStart Command(EngineInstance instance, string modelPath)
    {
        if (instance.Profile is not { } profile)
        {
            return EngineStart.ForWorker(Options, instance, modelPath, paths.EngineDirectory(instance.Launch.InstanceId));
        }

        instance.Port ??= _ports.Acquire();
        return EngineStart.ForProfile(Options, instance, profile, modelPath, instance.Port.Value, paths.EngineDirectory(instance.Launch.InstanceId));
    }

    void DeleteWorkingDirectory(string instanceId)
    {
        try
        {
            if (Directory.Exists(paths.EngineDirectory(instanceId)))
            {
                Directory.Delete(paths.EngineDirectory(instanceId), recursive: true);
            }
        }
        catch (IOException e)
        {
            // What the engine left behind is removed when the node starts next.
            log.LogWarning(e, "Could not remove the working directory of {InstanceId}", instanceId);
        }
        catch (UnauthorizedAccessException e)
        {
            log.LogWarning(e, "Could not remove the working directory of {InstanceId}", instanceId);
        }
    }

    async Task ReportAsync(InstanceLaunch launch, InstancePhase phase, string? endpoint, string? message, DownloadProgress? download = null,
        string? secret = null)
    {
        if (_shuttingDown)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IDeploymentGrain>(launch.DeployId).OnInstanceUpdate(new InstanceUpdate(launch.InstanceId, phase, endpoint, message, download, secret));
        }
        catch (Exception e)
        {
            // Reports are level-triggered on the grain side: a lost one is healed by the next.
            log.LogWarning(e, "Could not report {Phase} of {InstanceId}", phase, launch.InstanceId);
        }
    }

    async Task ReportGoneAsync(string instanceId, string deployId, InstancePhase phase, string? message)
    {
        if (_shuttingDown)
        {
            return;
        }

        try
        {
            // Free the GPUs first, so that a replacement the deployment places at once finds them.
            await grains.GetGrain<IGpuNodeGrain>(NodeName).InstanceGone(instanceId);
            await grains.GetGrain<IDeploymentGrain>(deployId).OnInstanceUpdate(new InstanceUpdate(instanceId, phase, null, message));
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not report the end of {InstanceId}", instanceId);
        }
    }
}
