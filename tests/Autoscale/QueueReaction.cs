using DeepDeploy.Contracts.Events;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>
/// A queue building up at the gateway of a real system (fake-engine workers, a test double for a GPU engine): a
/// deployment of max_batch_size 2 at one instance gets two long requests, then a third that has to queue. Returns
/// the deployment's first scale-up decision (1 → 2) and the time from sending the third request to that decision.
/// </summary>
public static class QueueReaction
{
    /// <summary>The SLO policy (one instance carries a full batch: only the queued request asks for a second), and
    /// either immediate reports with the periodic one out of the way (10 min), or periodic reports only (5 s).</summary>
    public static Dictionary<string, string> Settings(bool immediate) => new()
    {
        ["DeepDeploy:Autoscaler:Policy"] = "Slo",
        ["DeepDeploy:Inference:ImmediateLoadReports"] = immediate ? "true" : "false",
        ["DeepDeploy:Inference:LoadReportInterval"] = immediate ? "00:10:00" : "00:00:05",
    };

    public static async Task<(DeploymentEvent Decision, TimeSpan Delay)> MeasureAsync(RunningSystem system, string user, string name)
    {
        var token = await system.CreateUserAsync(user);
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, name, maxBatchSize: 2, minInstances: 1, maxInstances: 2, running: 1);
        var model = $"{user}/{name}";
        var lane = await GatewaySystem.LaneAsync(system, model, instances: 1);

        using var stop = new CancellationTokenSource();
        var requests = new List<Task>();
        async Task Send()
        {
            try
            {
                await GatewaySystem.StreamAsync(client, "/v1/openai/chat/completions", GatewaySystem.Chat(model, maxTokens: 400, stream: true), stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Ended by the measurement once it has its decision.
            }
        }

        try
        {
            requests.Add(Send());
            requests.Add(Send());
            await Eventually.TrueAsync(() => lane.InFlight == 2, TimeSpan.FromSeconds(30), "both slots of the instance taken");

            var queuedAt = DateTimeOffset.UtcNow;
            requests.Add(Send());
            var log = system.Services.GetRequiredService<IGrainFactory>().GetGrain<IEventLogGrain>(deployId);
            var decision = await Eventually.ValueAsync(async () => (await log.Read(null, 500)).Events
                .FirstOrDefault(e => e.Kind == DeploymentEventKind.ScalingDecision && e.Instances == 1 && e.Target == 2),
                TimeSpan.FromSeconds(30), "the scale-up decision");
            return (decision, decision.Time - queuedAt);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(requests);
            (await client.DeleteAsync($"/deploy/{deployId}")).Dispose(); // frees the node's GPUs for the next round
        }
    }
}
