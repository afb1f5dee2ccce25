using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Places one more instance of a deployment: reserves its GPUs against the owner's quota, asks the node
/// registry where it fits (spread over nodes, away from recently troubled ones, best fit) and the nodes in that
/// order to start it. What it could not place gives its reservation back. It also watches for an instance that no
/// live node can ever hold (<see cref="GiveUp"/>); that watch is in memory: a new activation starts it afresh.</summary>
public sealed class InstancePlacer(string deployId, IGrainFactory grains, TimeProvider time, DeploymentOptions options, ILogger log)
{
    /// <summary>How long a node where an instance failed or was lost is placed last.</summary>
    static readonly TimeSpan TroubleMemory = TimeSpan.FromMinutes(5);

    /// <summary>Since when (in which run of the deployment) placements found no node that could ever hold the instance.</summary>
    (int Run, DateTimeOffset Since)? _unplaceable;

    /// <summary>Why the placements since the last <see cref="GiveUp"/> found no node; null when none failed that way.</summary>
    string? _neverFits;

    /// <summary>Why the last placement failed (null after a success); <see cref="WaitsForCapacity"/> when for lack of free GPUs.</summary>
    public string? Refusal { get; private set; }

    public bool WaitsForCapacity { get; private set; }

    /// <param name="deployment">The deployment's state; the new instance is recorded in it.</param>
    /// <param name="save">Persists that state: the intent is recorded before a node is asked.</param>
    /// <param name="mayPlace">Asked once the owner's quota holds the GPUs: null to go on, else why it waits for its turn.</param>
    /// <returns>Where it was placed, or null when it could not be (<see cref="Refusal"/> says why).</returns>
    public async Task<NodeAllocation?> TryPlaceAsync(DeploymentState deployment, Func<Task> save, Func<Task<string?>> mayPlace)
    {
        var spec = deployment.Spec!;
        var instanceId = $"{deployId}-{deployment.NextInstance + 1}";
        var quota = grains.GetGrain<IUserQuotaGrain>(spec.Owner);
        if (!await quota.TryReserveGpus(instanceId, spec.NumGpus))
        {
            Refuse("the owner's GPU limit is reached", capacity: false);
            return null;
        }

        if (await mayPlace() is { } wait)
        {
            await quota.ReleaseGpus(instanceId);
            Refuse(wait, capacity: true);
            return null;
        }

        var now = time.GetUtcNow();
        foreach (var old in deployment.TroubledNodes.Where(t => now - t.Value > TroubleMemory).Select(t => t.Key).ToList())
        {
            deployment.TroubledNodes.Remove(old);
        }

        var replicas = deployment.Instances.Values.Where(i => !i.Stopping).GroupBy(i => i.Node).ToDictionary(g => g.Key, g => g.Count());
        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key)
            .FindNodes(spec.Gpu, spec.NumGpus, replicas, deployment.TroubledNodes.Keys.ToArray());
        if (nodes.Count == 0)
        {
            // Busy GPUs wait; GPUs that do not exist are counted towards the unplaceable timeout.
            _neverFits = NeverFits(await ClusterCapacity.LoadAsync(grains), spec.Gpu, spec.NumGpus);
            if (_neverFits is null)
            {
                _unplaceable = null;
            }

            Refuse(_neverFits ?? $"no node has {spec.NumGpus} free {spec.Gpu} GPU(s)", capacity: _neverFits is null);
        }
        else
        {
            _unplaceable = null;
        }

        var launch = new InstanceLaunch(instanceId, deployId, spec.FullModelName, spec.Gpu, spec.NumGpus, spec.MaxBatchSize,
            spec.HfRepo, deployment.Commit!, deployment.WeightsFile!, spec.HfTokenProtected, spec.ExtraArgs, spec.Quantization,
            deployment.WeightsFormat ?? WeightsFormats.Gguf);
        foreach (var node in nodes)
        {
            // Record the intent first: a crash between here and the node's answer leaves a record the
            // node's next registration clears, never GPUs nobody knows about.
            deployment.NextInstance++;
            deployment.Instances[instanceId] = new InstanceRecord { Id = instanceId, Node = node, Phase = InstancePhase.Placed, Seq = deployment.NextInstance };
            try
            {
                await save();
            }
            catch
            {
                // Not recorded (storage is down): nobody would ever release the reservation.
                await quota.ReleaseGpus(instanceId);
                throw;
            }

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
                deployment.Instances[instanceId].Silo = allocation.Silo;
                Refusal = null;
                WaitsForCapacity = false;
                return allocation;
            }

            deployment.Instances.Remove(instanceId);
            Refuse("no node took the instance (its GPUs were taken meanwhile)", capacity: true);
        }

        await quota.ReleaseGpus(instanceId);
        return null;
    }

    void Refuse(string why, bool capacity)
    {
        Refusal = why;
        WaitsForCapacity = capacity;
    }

    /// <summary>The reason to fail the deployment when the placements since the last call found no live node that could
    /// ever hold its instance and that has lasted <see cref="DeploymentOptions.UnplaceableTimeout"/>; else null.</summary>
    public string? GiveUp(DeploymentState deployment)
    {
        var why = _neverFits;
        _neverFits = null;
        if (why is null)
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (_unplaceable?.Run != deployment.Run)
        {
            _unplaceable = (deployment.Run, now);
            log.LogWarning("Deployment {DeployId} cannot be placed: {Reason}; it fails after {Timeout}", deployId, why, options.UnplaceableTimeout);
        }

        return now - _unplaceable.Value.Since >= options.UnplaceableTimeout
            ? $"unplaceable: {why} (waited {options.UnplaceableTimeout})"
            : null;
    }

    /// <summary>Why no node of <paramref name="capacity"/> could ever hold an instance (all its GPUs sit on one node), or
    /// null when one could, however busy.</summary>
    public static string? NeverFits(ClusterCapacity capacity, string gpu, int numGpus)
    {
        var largest = capacity.LargestNode(gpu);
        return largest >= numGpus ? null
            : largest == 0 ? $"no node offers {gpu} GPUs"
            : $"no node offers {numGpus} x {gpu} (the largest has {largest})";
    }
}
