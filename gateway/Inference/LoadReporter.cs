using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Every <see cref="InferenceOptions.LoadReportInterval"/>, tells each deployment with activity in this gateway
/// its load here (in flight, waiting, refused since the last report): the input of scale-to-zero and of the
/// autoscaler. One grain call per active deployment per period, never one per request.
/// </summary>
public sealed class LoadReporter(
    RouteTable table,
    IGrainFactory grains,
    GatewayIdentity identity,
    IOptions<InferenceOptions> options,
    ILogger<LoadReporter> log) : BackgroundService
{
    readonly Dictionary<string, (long Refused, bool Active)> _last = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LoadReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ReportAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends one round of reports (public for tests).</summary>
    public async Task ReportAsync()
    {
        var calls = new List<Task>();
        foreach (var lane in table.Lanes)
        {
            var (inFlight, waiting, refused) = (lane.InFlight, lane.Waiting, lane.Refused);
            var last = _last.GetValueOrDefault(lane.DeployId);
            var active = inFlight + waiting > 0;
            if (!active && !last.Active && refused == last.Refused)
            {
                continue; // idle, and the deployment already knows
            }

            _last[lane.DeployId] = (refused, active);
            calls.Add(grains.GetGrain<IDeploymentGrain>(lane.DeployId)
                .ReportLoad(new GatewayLoad(identity.Id, inFlight, waiting, refused - last.Refused)));
        }

        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception e)
        {
            log.LogDebug(e, "A load report failed; the next one follows in {Interval}", options.Value.LoadReportInterval);
        }
    }
}
