using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// How fast the cluster declares a silo dead. Orleans' defaults (5 s probes, votes valid for 2 minutes, the table read
/// every minute) take 7–31 s to notice a killed silo; these take about 5–9 s. (A GPU host is noticed sooner by its node
/// lease, <c>NodeOptions.Lease</c>: membership is its backstop and what moves the grains of a dead silo.) The price of
/// shorter probes: a silo that stalls for several probe periods (a long GC pause, a starved CPU) may be suspected.
/// Orleans adapts each peer's probe timeout to its observed response times (between half and four times
/// <see cref="ProbeTimeout"/>), stretches it while the local silo is degraded, and its connection liveness check keeps
/// a silo that still sends messages from being voted out. Every value can be overridden in the <see cref="Section"/>
/// section (the names of <see cref="ClusterMembershipOptions"/>, e.g. <c>DeepDeploy__Membership__ProbeTimeout=00:00:05</c>
/// restores Orleans' probe timing).
/// </summary>
public static class MembershipTiming
{
    public const string Section = "DeepDeploy:Membership";

    /// <summary>First probe timeout; Orleans adapts each peer's between half and four times this value.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

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
