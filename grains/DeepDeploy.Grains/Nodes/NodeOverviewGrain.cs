using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace DeepDeploy.Grains.Nodes;

/// <summary>Joins the registry's nodes with each node grain's allocations. Stateless and off the registry's turn: node
/// grains call the registry while they change, so the registry must never wait on them. The fan-out is bounded in
/// width (<see cref="Width"/> calls at a time) and in time (<see cref="AnswerWithin"/> per node).</summary>
[StatelessWorker]
public sealed class NodeOverviewGrain(IGrainFactory grains, ILogger<NodeOverviewGrain> log) : Grain, INodeOverviewGrain
{
    public const int Width = 16;

    public static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<NodeOverview>> List()
    {
        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).All();
        var views = new List<NodeOverview>(nodes.Count);
        foreach (var batch in nodes.Chunk(Width))
        {
            views.AddRange(await Task.WhenAll(batch.Select(DescribeAsync)));
        }

        return views;
    }

    async Task<NodeOverview> DescribeAsync(RegisteredNode node)
    {
        var capacity = node.Capacity;
        // The node grain's own allocations are newer than the registry's copy of its counts.
        NodeOverview View(IReadOnlyList<GpuHolding>? gpus, string? unreachable) =>
            new(capacity.Node, capacity.Simulated, node.State, node.LastReport,
                gpus is null ? capacity.Total : gpus.GroupBy(g => g.Type).ToDictionary(g => g.Key, g => g.Count()),
                gpus is null ? capacity.Free : gpus.GroupBy(g => g.Type).ToDictionary(g => g.Key, g => g.Count(d => d.InstanceId is null)),
                gpus, unreachable);

        // A dead silo's node grain cannot be placed anywhere else: asking would only fail.
        if (node.State == NodeState.SiloDown)
        {
            return View(null, "the node's silo is down");
        }

        try
        {
            var gpus = await grains.GetGrain<IGpuNodeGrain>(capacity.Node).GetGpus().WaitAsync(AnswerWithin);
            return gpus is null ? View(null, "the node has not registered its GPUs") : View(gpus, null);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "GPU node {Node} did not describe its GPUs", capacity.Node);
            return View(null, e is TimeoutException ? $"no answer within {AnswerWithin.TotalSeconds:0} s" : "the node did not answer");
        }
    }
}
