using System.Collections.Concurrent;
using System.Diagnostics;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Silo.Weights;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Silo.Nodes;

/// <summary>
/// Runs this host's engine processes, outside the grain scheduler. The GpuNode grain commands it; it reports
/// each instance's progress to its deployment and frees the GPUs through the node grain when a process is gone.
/// </summary>
public sealed class NodeAgent(
    IGrainFactory grains,
    IOptions<NodeOptions> options,
    NodePaths paths,
    WeightsCache weights,
    IHttpClientFactory http,
    ILogger<NodeAgent> log) : INodeAgent, ILifecycleParticipant<ISiloLifecycle>
{
    readonly ConcurrentDictionary<string, EngineInstance> _instances = new();
    readonly PidFiles _pids = new(paths.RunDirectory);
    readonly Queue<EngineInstance> _ended = new();
    const int EndedKept = 32;
    volatile bool _shuttingDown;

    NodeOptions Options => options.Value;

    public string NodeName => Options.Name;

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
            _ = Task.Run(() => RunAsync(instance));
        }
    }

    public void Stop(string instanceId, string deployId)
    {
        if (_instances.TryGetValue(instanceId, out var instance))
        {
            _ = Task.Run(() => StopProcessAsync(instance));
        }
        else
        {
            _ = Task.Run(() => ReportGoneAsync(instanceId, deployId, InstancePhase.Exited, "stopped (no process)"));
        }
    }

    async Task StartAsync(CancellationToken cancellationToken)
    {
        var killed = _pids.KillOrphans();
        if (killed > 0)
        {
            log.LogWarning("Killed {Count} engine processes orphaned by an earlier run", killed);
        }

        var info = GpuDiscovery.Discover(Options);
        log.LogInformation("GPU node {Node}: {Count} GPUs ({Kind}): {Gpus}", info.Name, info.Gpus.Count,
            info.Simulated ? "simulated" : "nvidia-smi", string.Join(", ", info.Gpus.Select(g => $"{g.Index}:{g.Type}")));
        var stale = await grains.GetGrain<IGpuNodeGrain>(info.Name).Register(info);
        foreach (var allocation in stale)
        {
            await grains.GetGrain<IDeploymentGrain>(allocation.DeployId)
                .OnInstanceUpdate(new InstanceUpdate(allocation.InstanceId, InstancePhase.Exited, null, "node restarted"));
        }
    }

    async Task StopAsync(CancellationToken cancellationToken)
    {
        // Engines must not outlive their silo; deployments place them again when the node comes back.
        _shuttingDown = true;
        await Task.WhenAll(_instances.Values.Select(StopProcessAsync));
    }

    /// <summary>One instance's life: fetch the weights, then run the engine, restarting it in place after a
    /// crash or failed health checks with exponential backoff; past <see cref="NodeOptions.MaxRestarts"/>
    /// restarts the instance fails and its deployment places a replacement elsewhere.</summary>
    async Task RunAsync(EngineInstance instance)
    {
        var launch = instance.Launch;
        var phase = InstancePhase.Failed;
        string? message = null;
        WeightsCache.WeightsLease? lease = null;
        try
        {
            // Before any download: a node without an engine for the format says so at once.
            (instance.EngineName, instance.Profile) = SelectEngine(launch);
            await ReportAsync(launch, InstancePhase.Downloading, null, null);
            lease = await weights.AcquireAsync(launch,
                progress => ReportAsync(launch, InstancePhase.Downloading, null, null, progress), instance.StopToken);
            var modelPath = lease.Path;
            for (var restarts = 0; ; restarts++)
            {
                if (restarts == 0)
                {
                    await ReportAsync(launch, InstancePhase.Starting, null, null);
                }

                var endpoint = instance.Endpoint = await StartProcessAsync(instance, modelPath);
                await WaitHealthyAsync(instance, endpoint);
                await ReportAsync(launch, InstancePhase.Running, endpoint, null);
                var ranFor = Stopwatch.StartNew();
                message = await SuperviseAsync(instance, endpoint);
                if (instance.Stopping)
                {
                    (phase, message) = (InstancePhase.Exited, "stopped");
                    break;
                }

                // An instance that served a good while starts its restart count afresh.
                if (ranFor.Elapsed > Options.HealthyRunResetsRestarts)
                {
                    restarts = 0;
                }

                if (restarts >= Options.MaxRestarts)
                {
                    message = $"crashed {restarts + 1} times; last: {message}";
                    break;
                }

                var backoff = TimeSpan.FromTicks(Math.Min(Options.RestartBackoff.Ticks << restarts, Options.MaxRestartBackoff.Ticks));
                log.LogWarning("Instance {InstanceId}: {Message}; restarting in {Backoff}", launch.InstanceId, message, backoff);
                // Out of the routes at once, not after the backoff.
                await ReportAsync(launch, InstancePhase.Starting, null, $"restart {restarts + 1} in {backoff.TotalSeconds:0.#} s after: {message}");
                await KillAsync(instance);
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
            await KillAsync(instance);
            lease?.Dispose();
            _pids.Delete(launch.InstanceId);
            _instances.TryRemove(launch.InstanceId, out _);
            RememberEnded(instance);
        }

        await ReportGoneAsync(launch.InstanceId, launch.DeployId, phase, message);
    }

    /// <summary>Waits while the engine runs and answers its health checks; returns why it stopped serving.</summary>
    async Task<string> SuperviseAsync(EngineInstance instance, string endpoint)
    {
        using var client = http.CreateClient(nameof(NodeAgent));
        client.Timeout = Options.HealthTimeout;
        var process = instance.Process!;
        var failures = 0;
        while (true)
        {
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(Options.HealthInterval)) == exited)
            {
                return $"engine exited with code {process.ExitCode}: {instance.Output.Last(5)}";
            }

            if (instance.Stopping)
            {
                await process.WaitForExitAsync();
                return "stopped";
            }

            try
            {
                using var response = await client.GetAsync(endpoint + instance.HealthPath);
                failures = response.IsSuccessStatusCode ? 0 : failures + 1;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures++;
            }

            if (failures >= Options.HealthFailures && !instance.Stopping)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                return $"failed {failures} health checks in a row";
            }
        }
    }

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines)
    {
        var live = _instances.Values.Where(i => i.Launch.DeployId == deployId)
            .Select(i => new InstanceLog(i.Launch.InstanceId, NodeName, true, i.Output.LastLines(lines)));
        EngineInstance[] ended;
        lock (_ended)
        {
            ended = _ended.Where(i => i.Launch.DeployId == deployId).ToArray();
        }

        return live.Concat(ended.Select(i => new InstanceLog(i.Launch.InstanceId, NodeName, false, i.Output.LastLines(lines)))).ToArray();
    }

    /// <summary>Keeps the output of the last ended instances: a crash's last words are what a user needs.</summary>
    void RememberEnded(EngineInstance instance)
    {
        lock (_ended)
        {
            _ended.Enqueue(instance);
            while (_ended.Count > EndedKept)
            {
                _ended.Dequeue();
            }
        }
    }

    /// <summary>The engine for the launch's weights format: GGUF runs on the built-in worker (or the
    /// <see cref="NodeOptions.GgufEngine"/> profile), safetensors on the first profile that takes it.</summary>
    (string Name, EngineProfile? Profile) SelectEngine(InstanceLaunch launch)
    {
        if (launch.WeightsFormat == WeightsFormats.Gguf && Options.GgufEngine is null)
        {
            return ("builtin", null);
        }

        if (launch.WeightsFormat == WeightsFormats.Gguf)
        {
            return Options.Engines.TryGetValue(Options.GgufEngine!, out var gguf)
                ? (Options.GgufEngine!, gguf)
                : throw new InvalidOperationException($"node {NodeName}: GgufEngine '{Options.GgufEngine}' names no engine profile (DeepDeploy:Node:Engines)");
        }

        var profile = Options.Engines.OrderBy(e => e.Key, StringComparer.Ordinal).FirstOrDefault(e => e.Value.Takes(launch.WeightsFormat));
        return profile.Value is not null
            ? (profile.Key, profile.Value)
            : throw new InvalidOperationException(
                $"no engine on node {NodeName} takes {launch.WeightsFormat} weights; configure an engine profile (DeepDeploy:Node:Engines:<name>, e.g. vLLM)");
    }

    static string DotnetPath() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>Load of a running instance read from its engine's own metrics (the profile's LoadMetrics; the built-in
    /// worker's requests in flight); null when unknown.</summary>
    public async Task<double?> ReadEngineLoadAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (!_instances.TryGetValue(instanceId, out var instance) || instance.Endpoint is not { } endpoint)
        {
            return null;
        }

        using var client = http.CreateClient(nameof(NodeAgent));
        client.Timeout = Options.HealthTimeout;
        var text = await client.GetStringAsync(endpoint + (instance.Profile?.MetricsPath ?? "/metrics"), cancellationToken);
        return EngineCommand.ReadLoad(text, instance.Profile?.LoadMetricNames ?? ["deepdeploy_worker_requests_in_flight"]);
    }

    /// <summary>Starts an external engine from its profile's template on a port the node picks (it prints no
    /// LISTENING line); its health endpoint tells when it serves.</summary>
    Task<string> StartExternalProcessAsync(EngineInstance instance, EngineProfile profile, string modelPath)
    {
        var launch = instance.Launch;
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Parse(Options.WorkerHost), 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var values = EngineCommand.Values(launch, instance.GpuIndices, Options.WorkerHost, port, modelPath, WorkerPath(), DotnetPath());
        var start = new ProcessStartInfo(EngineCommand.Fill(profile.Command, values).Text)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in EngineCommand.Arguments(profile.Args, values, launch.ExtraArgs))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CUDA_VISIBLE_DEVICES"] = string.Join(',', instance.GpuIndices);
        foreach (var (key, value) in profile.Environment)
        {
            start.Environment[key] = EngineCommand.Fill(value, values).Text;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                instance.Output.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                instance.Output.Add(e.Data);
            }
        };
        instance.Output.Add($"[node] {instance.EngineName}: {start.FileName} {string.Join(' ', start.ArgumentList)}");
        process.Start();
        instance.Process = process;
        _pids.Write(launch.InstanceId, process.Id);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (instance.Stopping)
        {
            throw new OperationCanceledException();
        }

        var host = Options.WorkerHost.Contains(':') ? $"[{Options.WorkerHost}]" : Options.WorkerHost;
        return Task.FromResult($"http://{host}:{port}");
    }

    async Task<string> StartProcessAsync(EngineInstance instance, string modelPath)
    {
        if (instance.Profile is { } profile)
        {
            return await StartExternalProcessAsync(instance, profile, modelPath);
        }

        var launch = instance.Launch;
        var start = new ProcessStartInfo(DotnetPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     WorkerPath(), "--model", modelPath, "--host", Options.WorkerHost, "--port", "0",
                     "--max-batch-size", launch.MaxBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--threads", Options.WorkerThreads.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--served-model-name", launch.ModelName, "--instance-id", launch.InstanceId,
                 })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in (Options.WorkerArgs ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CUDA_VISIBLE_DEVICES"] = string.Join(',', instance.GpuIndices);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            instance.Output.Add(e.Data);
            if (e.Data.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                listening.TrySetResult(e.Data[ListeningPrefix.Length..].Trim());
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                instance.Output.Add(e.Data);
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"engine exited during start with code {SafeExitCode(process)}: {instance.Output.Last(5)}"));

        process.Start();
        instance.Process = process;
        _pids.Write(launch.InstanceId, process.Id);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (instance.Stopping)
        {
            throw new OperationCanceledException();
        }

        return await listening.Task.WaitAsync(TimeSpan.FromSeconds(60), instance.StopToken);
    }

    async Task WaitHealthyAsync(EngineInstance instance, string endpoint)
    {
        using var client = http.CreateClient(nameof(NodeAgent));
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            instance.StopToken.ThrowIfCancellationRequested();
            if (instance.Process!.HasExited)
            {
                throw new InvalidOperationException($"engine exited while loading, code {instance.Process.ExitCode}: {instance.Output.Last(5)}");
            }

            try
            {
                using var response = await client.GetAsync(endpoint + instance.HealthPath, instance.StopToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not serving yet.
            }

            if (deadline.Elapsed > Options.StartTimeout)
            {
                throw new TimeoutException($"engine not healthy after {Options.StartTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(100, instance.StopToken);
        }
    }

    async Task StopProcessAsync(EngineInstance instance)
    {
        instance.RequestStop();
        var process = instance.Process;
        if (process is null || process.HasExited)
        {
            return;
        }

        ProcessSignals.Terminate(process.Id);
        using var grace = new CancellationTokenSource(Options.StopGrace);
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync(instance);
        }
    }

    static async Task KillAsync(EngineInstance instance)
    {
        var process = instance.Process;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
    }

    async Task ReportAsync(InstanceLaunch launch, InstancePhase phase, string? endpoint, string? message, DownloadProgress? download = null)
    {
        if (_shuttingDown)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IDeploymentGrain>(launch.DeployId).OnInstanceUpdate(new InstanceUpdate(launch.InstanceId, phase, endpoint, message, download));
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

    string WorkerPath() => Options.WorkerPath ?? Path.Combine(AppContext.BaseDirectory, "DeepDeploy.GpuWorker.dll");

    static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    /// <summary>The line a gpu-worker prints on stdout once it listens.</summary>
    public const string ListeningPrefix = "DEEPDEPLOY_WORKER_LISTENING ";
}
