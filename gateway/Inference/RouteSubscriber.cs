using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Keeps the <see cref="RouteTable"/> in step with the control plane: subscribes this gateway to the route
/// directory as a grain observer (changes are pushed at once), and renews the subscription every
/// <see cref="InferenceOptions.RouteRefreshInterval"/>, which renews the gateway's lease and brings a full
/// snapshot (the safety net for a lost push or a directory that moved). Unsubscribes on shutdown so that the
/// other gateways take over this one's slots at once.
/// </summary>
public sealed class RouteSubscriber(
    IGrainFactory grains,
    RouteTable table,
    GatewayIdentity identity,
    IOptions<InferenceOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<RouteSubscriber> log) : BackgroundService, IRouteObserver
{
    IRouteObserver? _reference;
    volatile TaskCompletionSource _resubscribe = new(TaskCreationOptions.RunContinuationsAsynchronously);

    IRouteDirectoryGrain Directory => grains.GetGrain<IRouteDirectoryGrain>(IRouteDirectoryGrain.Key);

    public Task OnRoutesChanged(RouteTableUpdate update)
    {
        if (!table.Apply(update))
        {
            _resubscribe.TrySetResult();
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The silo (or cluster client) is a hosted service too: subscribe once every one of them has started.
        var started = new TaskCompletionSource();
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetResult()))
        {
            await started.Task;
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan next;
            try
            {
                _reference ??= grains.CreateObjectReference<IRouteObserver>(this);
                var signal = _resubscribe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                table.Apply(await Directory.Subscribe(identity.Id, _reference));
                failures = 0;
                next = options.Value.RouteRefreshInterval;
                await Task.WhenAny(Task.Delay(next, stoppingToken), signal.Task);
                continue;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // At host start the cluster may not be up yet: retry soon, quietly at first.
                failures++;
                log.Log(failures > 10 ? LogLevel.Warning : LogLevel.Debug, e, "Route subscription failed ({Failures} in a row)", failures);
                next = TimeSpan.FromMilliseconds(Math.Min(2000, 100 * failures));
            }

            try
            {
                await Task.Delay(next, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_reference is not null)
        {
            try
            {
                await Directory.Unsubscribe(identity.Id).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            }
            catch (Exception e)
            {
                log.LogDebug(e, "Could not unsubscribe from the route directory");
            }

            grains.DeleteObjectReference<IRouteObserver>(_reference);
            _reference = null;
        }
    }
}
