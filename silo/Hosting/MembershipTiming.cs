using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// How fast the cluster declares a silo dead. Orleans' defaults (5 s probes, votes valid for 2 minutes, the table read
/// every minute) take 7–31 s to notice a killed silo; these take about 3–6 s, so that a lost GPU node's deployments
/// serve again elsewhere within 10 s. The price: a silo that stalls longer than about 3 missed probes (a long GC
/// pause, a starved CPU) may be suspected; Orleans' connection liveness check and local-health-aware probe timeouts
/// (both on) keep a silo that still talks from being voted out. Every value can be overridden in the
/// <see cref="Section"/> section (the names of <see cref="ClusterMembershipOptions"/>, e.g.
/// <c>DeepDeploy__Membership__ProbeTimeout=00:00:05</c> restores Orleans' probe timing).
/// </summary>
public static class MembershipTiming
{
    public const string Section = "DeepDeploy:Membership";

    /// <summary>First probe timeout; Orleans adapts each peer's between half and four times this value.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public const int NumMissedProbesLimit = 3;

    /// <summary>A suspicion older than this no longer counts towards a death declaration: short, so that
    /// two unrelated blips minutes apart do not add up to one.</summary>
    public static readonly TimeSpan DeathVoteExpirationTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Each silo's heartbeat in the table: what marks a silent entry stale (and so not counted as a voter).</summary>
    public static readonly TimeSpan IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The table read that backs up gossip: a silo that missed a gossip message learns of a death this late at most.</summary>
    public static readonly TimeSpan TableRefreshTimeout = TimeSpan.FromSeconds(10);

    public static ISiloBuilder UseDeepDeployMembershipTiming(this ISiloBuilder silo)
    {
        silo.Configure<ClusterMembershipOptions>(Apply);
        // Configuration is bound after the defaults above, so it wins.
        silo.Services.Configure<ClusterMembershipOptions>(silo.Configuration.GetSection(Section));
        return silo;
    }

    public static void Apply(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = NumMissedProbesLimit;
        options.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
        options.IAmAliveTablePublishTimeout = IAmAliveTablePublishTimeout;
        options.TableRefreshTimeout = TableRefreshTimeout;
    }
}
