using System.Collections.Concurrent;
using System.Diagnostics;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Tells each deployment with activity in this gateway its load here (in flight, waiting, refused since the last
/// report): the input of scale-to-zero and of the autoscaler. Two kinds of report, never one per request:
/// <list type="bullet">
/// <item>periodic, every <see cref="InferenceOptions.LoadReportInterval"/>, for every active deployment;</item>
/// <item>immediate, when a lane signals pressure (<see cref="DeploymentLane.Pressure"/>): its queue grew past what
/// was last reported, or its in-flight reached <see cref="InferenceOptions.LoadPressureThreshold"/> of its slots.
/// Signals coalesce: at most one report in flight per deployment, rounds at least
/// <see cref="InferenceOptions.UrgentReportInterval"/> apart.</item>
/// </list>
/// </summary>
public sealed class LoadReporter(
    RouteTable table,
    IGrainFactory grains,
    GatewayIdentity identity,
    IOptions<InferenceOptions> options,
    ILogger<LoadReporter> log) : BackgroundService
{
    readonly ConcurrentDictionary<string, Reported> _reported = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<Reported> _urgent = new();
    readonly SemaphoreSlim _signal = new(0);

    /// <summary>A queue that stands (not growing) is reported again at most this often.</summary>
    static readonly TimeSpan StandingQueueInterval = TimeSpan.FromSeconds(1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.ImmediateLoadReports)
        {
            table.Pressure = OnPressure;
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.LoadReportInterval;
        var nextPeriodic = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var untilPeriodic = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextPeriodic);
                await _signal.WaitAsync(untilPeriodic > TimeSpan.Zero ? untilPeriodic : TimeSpan.Zero, stoppingToken);
                while (_signal.Wait(0))
                {
                    // One round serves every signal so far.
                }

                if (Stopwatch.GetTimestamp() >= nextPeriodic)
                {
                    ReportAll();
                    nextPeriodic = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency);
                }

                ReportUrgent();
                await Task.Delay(options.Value.UrgentReportInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A lane's signal (request threads, under the lane's lock): only marks and wakes the loop.</summary>
    void OnPressure(DeploymentLane lane)
    {
        var reported = _reported.GetOrAdd(lane.DeployId, _ => new Reported());
        var waiting = lane.Waiting;
        if (waiting > 0 && waiting <= Volatile.Read(ref reported.Waiting)
            && Stopwatch.GetElapsedTime(Volatile.Read(ref reported.At)) < StandingQueueInterval)
        {
            return; // the queue did not grow since the deployment last heard of it, a moment ago
        }

        reported.Lane = lane;
        reported.Trigger = waiting > 0 ? LoadTrigger.GatewayQueue : LoadTrigger.GatewayInFlight;
        if (Interlocked.Exchange(ref reported.Pending, 1) == 0)
        {
            _urgent.Enqueue(reported);
            _signal.Release();
        }
    }

    void ReportAll()
    {
        foreach (var lane in table.Lanes)
        {
            var reported = _reported.GetOrAdd(lane.DeployId, _ => new Reported());
            var active = lane.InFlight + lane.Waiting > 0;
            if (!active && !reported.Active && lane.Refused == reported.Refused)
            {
                continue; // idle, and the deployment already knows
            }

            Send(lane, reported, LoadTrigger.PeriodicReport);
        }

        foreach (var gone in _reported.Keys.Except(table.Lanes.Select(l => l.DeployId), StringComparer.Ordinal).ToList())
        {
            _reported.TryRemove(gone, out _);
        }
    }

    void ReportUrgent()
    {
        while (_urgent.TryDequeue(out var reported))
        {
            if (Volatile.Read(ref reported.Pending) == 1 && reported.Lane is { } lane)
            {
                Send(lane, reported, reported.Trigger);
            }
        }
    }

    /// <summary>Sends one report unless one to this deployment is still in flight (then a pending signal is sent
    /// when it returns).</summary>
    void Send(DeploymentLane lane, Reported reported, LoadTrigger trigger)
    {
        if (Interlocked.CompareExchange(ref reported.Sending, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref reported.Pending, 0);
        var (inFlight, waiting, refused) = (lane.InFlight, lane.Waiting, lane.Refused);
        var load = new GatewayLoad(identity.Id, inFlight, waiting, refused - reported.Refused, trigger, lane.OldestWait);
        Volatile.Write(ref reported.Waiting, waiting);
        Volatile.Write(ref reported.At, Stopwatch.GetTimestamp());
        reported.Refused = refused;
        reported.Active = inFlight + waiting > 0;
        _ = CallAsync(lane.DeployId, reported, load);
    }

    async Task CallAsync(string deployId, Reported reported, GatewayLoad load)
    {
        try
        {
            await grains.GetGrain<IDeploymentGrain>(deployId).ReportLoad(load);
        }
        catch (Exception e)
        {
            log.LogDebug(e, "A load report to {DeployId} failed; the next one follows in {Interval}", deployId, options.Value.LoadReportInterval);
        }
        finally
        {
            Volatile.Write(ref reported.Sending, 0);
            if (Volatile.Read(ref reported.Pending) == 1)
            {
                _urgent.Enqueue(reported);
                _signal.Release();
            }
        }
    }

    /// <summary>What a deployment last heard from this gateway, and whether a report to it is pending or in flight.</summary>
    sealed class Reported
    {
        public int Waiting;
        public long At;
        public long Refused;
        public bool Active;
        public int Pending;
        public int Sending;
        public DeploymentLane? Lane;
        public LoadTrigger Trigger;
    }
}
