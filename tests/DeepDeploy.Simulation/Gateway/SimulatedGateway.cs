using DeepDeploy.Gateway.Inference;
using DeepDeploy.Simulation.Engine;
using DeepDeploy.Simulation.Metrics;
using DeepDeploy.Simulation.Workload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Polly;

namespace DeepDeploy.Simulation.Gateway;

/// <summary>
/// A gateway without HTTP: the gateway's real <see cref="RouteSubscriber"/> (route pushes and renewals from the
/// route directory), <see cref="RouteTable"/>, <see cref="DeploymentLane"/> admission and routing, and
/// <see cref="LoadReporter"/>, in a host of their own; only the HTTP hop to the engine is replaced by a call to the
/// <see cref="SimulatedEngine"/>, handled as <c>InferenceForwarder</c> handles the worker's answers (a busy refusal
/// saturates the slot and retries at the head of the queue, an unreachable instance is excluded and another tried).
/// </summary>
public sealed class SimulatedGateway : IAsyncDisposable
{
    // InferenceForwarder's limit of refusals for one request.
    const int MaxRefusals = 20;

    readonly IHost _host;
    readonly EngineFleet _fleet;
    readonly SimClock _clock;
    readonly InferenceOptions _options;

    SimulatedGateway(IHost host, int index, EngineFleet fleet, SimClock clock, InferenceOptions options)
    {
        _host = host;
        _fleet = fleet;
        _clock = clock;
        _options = options;
        Index = index;
    }

    public int Index { get; }

    public RouteTable Table => _host.Services.GetRequiredService<RouteTable>();

    public string Id => _host.Services.GetRequiredService<GatewayIdentity>().Id;

    public static async Task<SimulatedGateway> StartAsync(int index, IGrainFactory grains, InferenceOptions options, EngineFleet fleet, SimClock clock, RouteArrivals arrivals)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var services = builder.Services;
        services.AddSingleton(grains);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Options.Create(options));
        services.AddSingleton<GatewayIdentity>();
        services.AddSingleton<RouteTable>();
        services.AddSingleton<RouteSubscriber>();
        services.AddHostedService(sp => sp.GetRequiredService<RouteSubscriber>());
        services.AddSingleton<LoadReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<LoadReporter>());
        services.AddResiliencePipeline(RouteSubscriber.PipelineName, RouteSubscriber.ConfigurePipeline);
        var host = builder.Build();
        arrivals.Add(host.Services.GetRequiredService<RouteSubscriber>(), host.Services.GetRequiredService<GatewayIdentity>().Id, index);
        await host.StartAsync();
        await host.Services.GetRequiredService<RouteTable>().Ready.WaitAsync(TimeSpan.FromMinutes(2));
        return new SimulatedGateway(host, index, fleet, clock, options);
    }

    /// <summary>Admits, routes and "forwards" one request; returns when its answer is complete or it failed.</summary>
    public async Task<RequestOutcome> SendAsync(WorkloadRequest request)
    {
        var arrival = _clock.Now;
        var queueWait = 0.0;
        if (Table.Find(request.Model) is not { } lane)
        {
            return Failed("model_not_found");
        }

        var retry = false;
        var failures = 0;
        var refusals = 0;
        while (true)
        {
            var admission = await lane.AcquireAsync(retry, CancellationToken.None);
            if (admission.Outcome != AdmissionOutcome.Granted)
            {
                return Failed(Snake(admission.Outcome.ToString()));
            }

            if (!retry)
            {
                queueWait = _clock.Now - arrival;
            }

            var lease = admission.Lease!;
            var started = _clock.Now;
            var engine = _fleet.Find(lease.Endpoint);
            var answer = engine is null ? new EngineAnswer("stopped", false, 0, 0) : await engine.ServeAsync(request.PromptTokens, request.OutputTokens);
            switch (answer.Refused)
            {
                case "busy":
                    lane.Saturated(lease.Slot, InferenceForwarder.BusyBackoff);
                    break;
                case "loading":
                    lane.NotServing(lease.Slot, _options.UnhealthyCooldown);
                    break;
                case not null:
                    lane.Exclude(lease.Slot, _options.UnhealthyCooldown);
                    break;
            }

            lease.Release();
            if (answer.Refused is "busy" or "loading")
            {
                if (++refusals >= MaxRefusals)
                {
                    return Failed("engine_busy");
                }

                retry = true;
                continue;
            }

            if (answer.Refused is not null)
            {
                if (++failures >= _options.MaxAttempts)
                {
                    return Failed("engine_unreachable");
                }

                retry = true;
                continue;
            }

            if (answer.Failed)
            {
                return Failed("answer_cut");
            }

            return new RequestOutcome(arrival, request.Model, Index, null, queueWait, started - arrival + answer.FirstTokenSeconds, _clock.Now - arrival);
        }

        RequestOutcome Failed(string reason) => new(arrival, request.Model, Index, reason, queueWait, double.NaN, _clock.Now - arrival);
    }

    static string Snake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
