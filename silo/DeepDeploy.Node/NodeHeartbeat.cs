using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Node;

/// <summary>
/// The node's lease with the node registry: a report every <see cref="NodeOptions.ReportInterval"/>, each renewing the
/// lease for <see cref="NodeOptions.Lease"/>. A node that stops reporting loses its instances when the lease runs
/// out, even while cluster membership still holds its silo alive. When the registry answers that the lease already
/// expired, the agent stops its engines and registers again (<see cref="NodeAgent.RejoinAsync"/>).
/// </summary>
public sealed class NodeHeartbeat(
    IGrainFactory grains,
    NodeAgent agent,
    IOptions<NodeOptions> options,
    TimeProvider time,
    ILogger<NodeHeartbeat> log) : ILifecycleParticipant<ISiloLifecycle>
{
    readonly CancellationTokenSource _stopping = new();
    Task _loop = Task.CompletedTask;

    // After the agent's own start (stage Active): the node has registered before its first report.
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeHeartbeat), ServiceLifecycleStage.Active + 1, Start, StopAsync);

    Task Start(CancellationToken cancellationToken)
    {
        _loop = Task.Run(ReportAsync);
        return Task.CompletedTask;
    }

    async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop;
    }

    async Task ReportAsync()
    {
        var (node, interval, lease) = (agent.NodeName, options.Value.ReportInterval, options.Value.Lease);
        var registry = grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    // A call that hangs (the registry's silo just died) must not hold up the next report for long.
                    if (!await registry.Report(node, lease).WaitAsync(lease, time, _stopping.Token))
                    {
                        await agent.RejoinAsync();
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The registry is moving to another silo, or unreachable: the next report tries again.
                    log.LogWarning(e, "GPU node {Node}: report to the node registry failed", node);
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
