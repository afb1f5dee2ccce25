using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Places a deployment's missing instances at once: asks the fair share how many may go now and the node registry
/// once where they fit (spread over nodes, away from recently troubled ones, best fit), reserves their GPUs against the
/// owner's quota (one call), records every intent with one state write and asks the nodes in parallel. What it could not
/// place gives its reservation back. It also watches for an instance that no live node can ever hold
/// (<see cref="GiveUp"/>); that watch is in memory: a new activation starts it afresh.
/// <para>The quota is reserved only once the fair share and the registry said the instances can go: a deployment waiting
/// for GPUs asks on every tick, and reserving then releasing would write its owner's quota state twice per tick (session
/// 10: those writes queued 20 deployments deep on each owner's quota grain). Why this order keeps the GPU limit exact:
/// the quota grain alone decides, one reservation at a time, so no order of calls can put an owner over its limit; the
/// registry's answer only picks nodes. Why it leaks nothing: a reservation is made for the instance ids this tick would
/// record (<c>deployId-seq</c> after <see cref="DeploymentState.NextInstance"/>) and is released when not placed; if the
/// activation dies between the reservation and the record, the next tick reserves the same ids again, which the quota
/// counts once. After a tick that met the owner's limit the quota is asked first (a reservation that finds no room writes
/// nothing), so that a deployment at its limit neither claims a fair share nor holds GPUs in the registry on every tick
/// for instances it cannot reserve.</para></summary>
public sealed class InstancePlacer(string deployId, IGrainFactory grains, TimeProvider time, DeploymentOptions options, ILogger log)
{
    /// <summary>How long a node where an instance failed or was lost is placed last.</summary>
    static readonly TimeSpan TroubleMemory = TimeSpan.FromMinutes(5);

    const string OwnerLimit = "the owner's GPU limit is reached";

    /// <summary>Rankings asked of the registry per placement: one, and one more after each round a node refused.</summary>
    const int MaxRankings = 3;

    /// <summary>Since when (in which run of the deployment) placements found no node that could ever hold the instance.</summary>
    (int Run, DateTimeOffset Since)? _unplaceable;

    /// <summary>Why the placements since the last <see cref="GiveUp"/> found no node; null when none failed that way.</summary>
    string? _neverFits;

    /// <summary>Why the last placement left instances unplaced (null when it placed all); <see cref="WaitsForCapacity"/>
    /// when for lack of free GPUs.</summary>
    public string? Refusal { get; private set; }

    public bool WaitsForCapacity { get; private set; }

    /// <param name="deployment">The deployment's state; the new instances are recorded in it.</param>
    /// <param name="count">How many instances to add.</param>
    /// <param name="save">Persists that state: the intents are recorded before a node is asked, one write per round.</param>
    /// <param name="mayPlace">Asked before the registry: how many of n instances may be placed now, and when fewer, why
    /// the rest waits for its turn.</param>
    /// <returns>Where instances were placed; when fewer than <paramref name="count"/>, <see cref="Refusal"/> says why.</returns>
    public async Task<IReadOnlyList<NodeAllocation>> PlaceAsync(DeploymentState deployment, int count, Func<Task> save, Func<int, Task<(int Allowed, string? Wait)>> mayPlace)
    {
        var quotaFirst = Refusal == OwnerLimit;
        Refusal = null;
        WaitsForCapacity = false;
        var spec = deployment.Spec!;
        var quota = grains.GetGrain<IUserQuotaGrain>(spec.Owner);
        var pending = Enumerable.Range(deployment.NextInstance + 1, count).ToList();
        var reserved = new List<int>();

        // Each later step's refusal replaces the earlier one: it concerns instances before those refused earlier.
        if (quotaFirst)
        {
            pending = await ReserveAsync(pending);
        }

        if (pending.Count > 0)
        {
            var (allowed, wait) = await mayPlace(pending.Count);
            allowed = Math.Clamp(allowed, 0, pending.Count);
            if (allowed < pending.Count)
            {
                pending = pending[..allowed];
                Refuse(wait ?? "waiting for free GPUs", capacity: true);
            }
        }

        List<string> candidates = pending.Count > 0 ? [.. await FindNodesAsync(deployment, pending.Count)] : [];
        if (candidates.Count > 0 && !quotaFirst)
        {
            pending = await ReserveAsync(pending);
        }

        var placed = new List<NodeAllocation>();
        var refused = new HashSet<string>(StringComparer.Ordinal);
        var asked = 1;
        while (pending.Count > 0 && candidates.Count > 0)
        {
            var round = await RecordAsync(deployment, pending, candidates, save, quota);
            var answers = await Task.WhenAll(round.Select(r => StartAsync(r.Node, Launch(deployment, Id(r.Seq)))));
            for (var i = 0; i < round.Count; i++)
            {
                var (seq, node) = round[i];
                if (answers[i] is { } allocation)
                {
                    placed.Add(allocation);
                    pending.Remove(seq);
                }
                else
                {
                    // The node is full (its GPUs were taken meanwhile, or by this round) or did not answer: the next round tries the others.
                    deployment.Instances.Remove(Id(seq));
                    candidates.Remove(node);
                    refused.Add(node);
                }
            }

            if (pending.Count > 0 && refused.Count > 0 && asked < MaxRankings)
            {
                // The rest of the ranking is as old as the round trips that just failed, and concurrent placements
                // filled the same best-fit nodes meanwhile (session 12 at 1,000 nodes: 12.75 starts per ranking, the
                // later candidates refusing): ask again, with fresh holds, instead of walking it.
                asked++;
                candidates = [.. (await FindNodesAsync(deployment, pending.Count)).Where(n => !refused.Contains(n))];
            }
            else if (pending.Count > 0 && refused.Count > 0)
            {
                candidates.Clear(); // the next tick asks again
            }

            if (candidates.Count == 0)
            {
                // Every candidate refused or did not answer (the ones that took instances are full now).
                Refuse($"no node has {spec.NumGpus} free {spec.Gpu} GPU(s)", capacity: true);
            }
        }

        // Whatever was reserved and is not recorded (the fair share, the registry or the nodes said no).
        var unplaced = reserved.Where(seq => !deployment.Instances.ContainsKey(Id(seq))).ToList();
        if (unplaced.Count > 0)
        {
            await quota.ReleaseGpusOfEach(Ids(unplaced));
        }

        return placed;

        async Task<List<int>> ReserveAsync(List<int> seqs)
        {
            var room = await quota.TryReserveGpusForEach(Ids(seqs), spec.NumGpus);
            reserved.AddRange(seqs[..room]);
            if (room < seqs.Count)
            {
                Refuse(OwnerLimit, capacity: false);
            }

            return seqs[..room];
        }
    }

    string Id(int seq) => $"{deployId}-{seq}";

    List<string> Ids(IEnumerable<int> seqs) => seqs.Select(Id).ToList();

    /// <summary>The live nodes that can hold one instance, best first, with one held for each of <paramref name="instances"/>;
    /// none: says why (busy, or never fits).</summary>
    async Task<IReadOnlyList<string>> FindNodesAsync(DeploymentState deployment, int instances)
    {
        var spec = deployment.Spec!;
        var now = time.GetUtcNow();
        foreach (var old in deployment.TroubledNodes.Where(t => now - t.Value > TroubleMemory).Select(t => t.Key).ToList())
        {
            deployment.TroubledNodes.Remove(old);
        }

        var replicas = deployment.Instances.Values.Where(i => !i.Stopping).GroupBy(i => i.Node).ToDictionary(g => g.Key, g => g.Count());
        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key)
            .FindNodes(spec.Gpu, spec.NumGpus, instances, replicas, deployment.TroubledNodes.Keys.ToArray());
        if (nodes.Count > 0)
        {
            _unplaceable = null;
            return nodes;
        }

        // Busy GPUs wait; GPUs that do not exist are counted towards the unplaceable timeout.
        _neverFits = NeverFits(await ClusterCapacity.LoadAsync(grains), spec.Gpu, spec.NumGpus);
        if (_neverFits is null)
        {
            _unplaceable = null;
        }

        Refuse(_neverFits ?? $"no node has {spec.NumGpus} free {spec.Gpu} GPU(s)", capacity: _neverFits is null);
        return nodes;
    }

    /// <summary>Gives each pending instance a node, in rank order and round the candidates (one instance per node before a
    /// second), and records every intent with one write: a crash before the nodes answer leaves records their next
    /// registration clears, never GPUs nobody knows about.</summary>
    async Task<List<(int Seq, string Node)>> RecordAsync(
        DeploymentState deployment, IReadOnlyList<int> pending, IReadOnlyList<string> candidates, Func<Task> save, IUserQuotaGrain quota)
    {
        var round = pending.Select((seq, i) => (Seq: seq, Node: candidates[i % candidates.Count])).ToList();
        foreach (var (seq, node) in round)
        {
            deployment.NextInstance = Math.Max(deployment.NextInstance, seq);
            deployment.Instances[Id(seq)] = new InstanceRecord { Id = Id(seq), Node = node, Phase = InstancePhase.Placed, Seq = seq };
        }

        try
        {
            await save();
        }
        catch
        {
            // Not recorded (storage is down): nobody would ever release the reservations.
            await quota.ReleaseGpusOfEach(Ids(pending));
            throw;
        }

        return round;
    }

    async Task<NodeAllocation?> StartAsync(string node, InstanceLaunch launch)
    {
        try
        {
            return await grains.GetGrain<IGpuNodeGrain>(node).StartInstance(launch);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Node {Node} did not take instance {InstanceId}", node, launch.InstanceId);
            return null;
        }
    }

    InstanceLaunch Launch(DeploymentState deployment, string instanceId)
    {
        var spec = deployment.Spec!;
        return new InstanceLaunch(instanceId, deployId, spec.FullModelName, spec.Gpu, spec.NumGpus, spec.MaxBatchSize,
            spec.HfRepo, deployment.Commit!, deployment.WeightsFile!, spec.HfTokenProtected, spec.ExtraArgs, spec.Quantization,
            deployment.WeightsFormat ?? WeightsFormats.Gguf);
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
