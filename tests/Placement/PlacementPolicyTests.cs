using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Placement;

[Trait("Category", "Unit")]
public sealed class PlacementPolicyTests(ITestOutputHelper output)
{
    const string Gpu = "H100-80GB";

    static Dictionary<string, int> Nodes(int count, int gpus) =>
        Enumerable.Range(0, count).ToDictionary(i => $"node-{i:00}", _ => gpus);

    static IEnumerable<NodeCapacity> View(Dictionary<string, int> free) =>
        free.Select(n => new NodeCapacity(n.Key, true, new Dictionary<string, int> { [Gpu] = 8 }, new Dictionary<string, int> { [Gpu] = n.Value }, null));

    /// <summary>Places the sequence in arrival order with our policy, as the control plane does.</summary>
    static int PlaceOnline(IReadOnlyList<int> sizes, Dictionary<string, int> free, Func<Dictionary<string, int>, int, string?> choose)
    {
        var placed = 0;
        foreach (var size in sizes)
        {
            if (choose(free, size) is { } node)
            {
                free[node] -= size;
                placed += size;
            }
        }

        return placed;
    }

    /// <summary>The reference: a central best fit that sees every node's exact free GPUs, placing the same
    /// sequence in the same order; sorted largest first, it is offline best-fit decreasing (knows the future).</summary>
    static int PlaceBestFit(IEnumerable<int> sizes, Dictionary<string, int> free)
    {
        var placed = 0;
        foreach (var size in sizes)
        {
            var node = free.Where(n => n.Value >= size).OrderBy(n => n.Value - size).ThenBy(n => n.Key, StringComparer.Ordinal).Select(n => n.Key).FirstOrDefault();
            if (node is not null)
            {
                free[node] -= size;
                placed += size;
            }
        }

        return placed;
    }

    [Fact]
    public void The_policy_packs_like_best_fit_and_beats_worst_fit()
    {
        var random = new Random(7);
        int[] sizes = [1, 2, 4, 8];
        int policyTotal = 0, bestFitTotal = 0, decreasingTotal = 0, worstFitTotal = 0;
        for (var trial = 0; trial < 500; trial++)
        {
            var nodes = random.Next(2, 9);
            var sequence = Enumerable.Range(0, random.Next(4, 40)).Select(_ => sizes[random.Next(sizes.Length)]).ToArray();
            var policy = PlaceOnline(sequence, Nodes(nodes, 8), (free, size) => PlacementPolicy.Rank(View(free), Gpu, size).FirstOrDefault());
            var bestFit = PlaceBestFit(sequence, Nodes(nodes, 8));
            Assert.True(policy == bestFit, $"trial {trial}: {nodes} nodes, [{string.Join(",", sequence)}]: placed {policy} GPUs, best fit {bestFit}");
            policyTotal += policy;
            bestFitTotal += bestFit;
            decreasingTotal += PlaceBestFit(sequence.OrderByDescending(x => x), Nodes(nodes, 8));
            worstFitTotal += PlaceOnline(sequence, Nodes(nodes, 8),
                (free, size) => free.Where(n => n.Value >= size).OrderByDescending(n => n.Value).Select(n => n.Key).FirstOrDefault());
        }

        output.WriteLine($"GPUs placed over 500 random sequences of 1/2/4/8-GPU instances on 8-GPU nodes: policy {policyTotal}, " +
            $"best fit {bestFitTotal}, offline best-fit decreasing {decreasingTotal} (knows the future), worst fit {worstFitTotal}; " +
            $"policy/offline {(double)policyTotal / decreasingTotal:F3}, policy/worst-fit {(double)policyTotal / worstFitTotal:F3}");
        Assert.True(worstFitTotal < policyTotal, "best fit must keep more room for large instances than worst fit");
    }

    [Fact]
    public void Replicas_spread_over_nodes_and_troubled_nodes_come_last()
    {
        var free = Nodes(3, 8);
        free["node-00"] = 6; // the best fit for a 1-GPU instance
        var ranked = PlacementPolicy.Rank(View(free), Gpu, 1);
        Assert.Equal("node-00", ranked[0]);

        // A deployment with a replica on node-00 goes elsewhere first.
        var spread = PlacementPolicy.Rank(View(free), Gpu, 1, new Dictionary<string, int> { ["node-00"] = 1 });
        Assert.NotEqual("node-00", spread[0]);
        Assert.Equal("node-00", spread[^1]);

        var avoided = PlacementPolicy.Rank(View(free), Gpu, 1, avoid: ["node-00", "node-01"]);
        Assert.Equal(["node-02", "node-00", "node-01"], avoided);

        // Nodes without room do not qualify at all.
        Assert.Empty(PlacementPolicy.Rank(View(free), Gpu, 9));
        Assert.Empty(PlacementPolicy.Rank(View(free), "A100-80GB", 1));
    }
}
