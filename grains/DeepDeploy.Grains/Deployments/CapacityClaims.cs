using DeepDeploy.Contracts.Capacity;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// A deployment's side of its GPU type's <see cref="ICapacityArbiterGrain"/>: before placing instances it asks
/// (once per tick, for all it lacks), after each tick it tells its holding when it changed or <see cref="Refresh"/> passed, and it remembers why instances it wants are not placed
/// (<see cref="Pending"/>). An arbiter that cannot be reached does not stop placement: the registry still guards the GPUs.
/// </summary>
public sealed class CapacityClaims(string deployId, IGrainFactory grains, TimeProvider time, ILogger log)
{
    static readonly TimeSpan Refresh = TimeSpan.FromMinutes(2);

    /// <summary>The deployment's tick does not wait longer for the arbiter: then it places without it.</summary>
    static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    CapacityClaim? _sent;
    DateTimeOffset _sentAt;

    /// <summary>Why the last tick placed fewer instances than wanted, as "running N of wanted M: why"; null when none are missing.</summary>
    public string? Pending { get; private set; }

    /// <summary>How many of <paramref name="count"/> instances the deployment may place now (asked once per tick), and
    /// when fewer, why the rest waits for GPUs.</summary>
    public async Task<(int Allowed, string? Wait)> MayPlaceAsync(DeploymentState deployment, int wanted, int count)
    {
        var gpu = deployment.Spec!.Gpu;
        var grant = await SendAsync(gpu, Claim(deployment, wanted));
        return grant is null || grant.Instances >= count
            ? (count, null)
            : (grant.Instances, grant.Reason ?? $"waiting for free {gpu} GPUs (granted {grant.Instances} of {count} now)");
    }

    /// <summary>The end of a tick: its holding, and whether it still waits for GPUs (then it stays in line); an
    /// unchanged claim is not re-sent before <see cref="Refresh"/>. A deployment with no instance and no want leaves.</summary>
    public async Task ReportAsync(DeploymentState deployment, int wanted, bool waiting)
    {
        var claim = Claim(deployment, waiting ? wanted : Live(deployment));
        if (claim == _sent ? time.GetUtcNow() - _sentAt < Refresh : _sent is null && claim is { Instances: 0, Wanted: 0 })
        {
            return;
        }

        await SendAsync(deployment.Spec!.Gpu, claim);
    }

    /// <summary>Records the tick's outcome; true when <see cref="Pending"/> changed (an event for the owner).</summary>
    public bool Settle(int live, int wanted, string? refusal)
    {
        var pending = live >= wanted || refusal is null ? null : $"running {live} of wanted {wanted} instances: {refusal}";
        if (pending == Pending)
        {
            return false;
        }

        Pending = pending;
        return true;
    }

    CapacityClaim Claim(DeploymentState deployment, int wanted)
    {
        var spec = deployment.Spec!;
        return new CapacityClaim(deployId, spec.Owner, spec.NumGpus, deployment.Instances.Count, Live(deployment), wanted);
    }

    static int Live(DeploymentState deployment) => deployment.Instances.Values.Count(i => !i.Stopping);

    async Task<CapacityGrant?> SendAsync(string gpu, CapacityClaim claim)
    {
        try
        {
            var grant = await grains.GetGrain<ICapacityArbiterGrain>(gpu).Claim(claim).WaitAsync(AnswerTimeout, time);
            (_sent, _sentAt) = (claim, time.GetUtcNow());
            return grant;
        }
        catch (Exception e)
        {
            log.LogWarning(e, "The capacity arbiter did not answer deployment {DeployId}; placing without it", deployId);
            return null;
        }
    }
}
