using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.DependencyInjection;
using Polly.Registry;
using Polly.Retry;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Keeps the <see cref="RouteTable"/> in step with the control plane: subscribes this gateway to every shard of the
/// route directory (<see cref="RouteShards"/>, in parallel) as a grain observer (changes are pushed at once), and renews the subscription every
/// <see cref="InferenceOptions.RouteRefreshInterval"/>, which renews the gateway's lease and brings a full
/// snapshot (the safety net for a lost push or a directory that moved). Unsubscribes on shutdown so that the
/// other gateways take over this one's slots at once.
/// </summary>
public sealed class RouteSubscriber(
    IGrainFactory grains,
    RouteTable table,
    GatewayIdentity identity,
    IOptions<InferenceOptions> options,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<RouteSubscriber> log) : BackgroundService, IRouteObserver
{
    public const string PipelineName = "route-subscription";

    IRouteObserver? _reference;
    volatile TaskCompletionSource _resubscribe = new(TaskCreationOptions.RunContinuationsAsynchronously);

    IEnumerable<IRouteDirectoryGrain> Shards => Enumerable.Range(0, RouteShards.Count).Select(s => grains.GetGrain<IRouteDirectoryGrain>(s));

    /// <summary>A subscription that fails is retried for as long as the gateway runs, soon at first and then every
    /// 2 s: at host start the cluster may not be up yet, so the first failures are logged quietly.</summary>
    public static void ConfigurePipeline(ResiliencePipelineBuilder builder, AddResiliencePipelineContext<string> context)
    {
        var log = context.ServiceProvider.GetRequiredService<ILogger<RouteSubscriber>>();
        builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Linear,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(2),
            UseJitter = false,
            OnRetry = args =>
            {
                var failures = args.AttemptNumber + 1;
                log.Log(failures > 10 ? LogLevel.Warning : LogLevel.Debug, args.Outcome.Exception,
                    "Route subscription failed ({Failures} in a row)", failures);
                return ValueTask.CompletedTask;
            },
        });
    }

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

        var pipeline = pipelines.GetPipeline(PipelineName);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var signal = await pipeline.ExecuteAsync(SubscribeAsync, stoppingToken);
                await Task.WhenAny(Task.Delay(options.Value.RouteRefreshInterval, time, stoppingToken), signal);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Subscribes (or renews) and applies the snapshot; returns a task that completes when a pushed change
    /// shows that this gateway missed one and must fetch a snapshot before the next renewal.</summary>
    async ValueTask<Task> SubscribeAsync(CancellationToken cancellationToken)
    {
        _reference ??= grains.CreateObjectReference<IRouteObserver>(this);
        var signal = _resubscribe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reference = _reference;
        await Task.WhenAll(Shards.Select(async shard => table.Apply(await shard.Subscribe(identity.Id, reference))));
        return signal.Task;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_reference is not null)
        {
            try
            {
                await Task.WhenAll(Shards.Select(shard => shard.Unsubscribe(identity.Id))).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
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
