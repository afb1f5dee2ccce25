using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;

namespace DeepDeploy.Tests.Placement;

/// <summary>The registry's indexed view ranks exactly as <see cref="PlacementPolicy.Rank"/> does (the reference),
/// cut to the first few, whatever the changes, replicas, avoided and dead nodes.</summary>
[Trait("Category", "Unit")]
public sealed class CapacityViewTests
{
    static readonly string[] Types = ["H100-80GB", "A100-80GB"];

    static NodeCapacity Node(string name, Random random)
    {
        // Some nodes have one type, some both; free never above total.
        var total = Types.Where(_ => random.Next(3) > 0).ToDictionary(t => t, _ => random.Next(1, 9));
        return new NodeCapacity(name, true, total, total.ToDictionary(t => t.Key, t => random.Next(0, t.Value + 1)), null);
    }

    [Fact]
    public void The_index_ranks_like_the_policy_through_any_sequence_of_changes()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 200; trial++)
        {
            var view = new CapacityView();
            var reference = new Dictionary<string, NodeCapacity>(StringComparer.Ordinal);
            var names = Enumerable.Range(0, random.Next(1, 60)).Select(i => $"n{i:D2}").ToArray();
            for (var change = 0; change < 3 * names.Length; change++)
            {
                // Nodes join and change in any order; a node may change its GPU types too.
                var node = Node(names[random.Next(names.Length)], random);
                view.Set(node);
                reference[node.Node] = node;
            }

            var dead = names.Where(_ => random.Next(10) == 0).ToHashSet(StringComparer.Ordinal);
            var replicas = names.Where(_ => random.Next(5) == 0).ToDictionary(n => n, _ => random.Next(1, 4));
            var avoid = names.Where(_ => random.Next(6) == 0).Append("not-a-node").ToArray();
            var (gpu, size, limit) = (Types[random.Next(Types.Length)], random.Next(1, 9), random.Next(1, 40));

            var expected = PlacementPolicy.Rank(reference.Values.Where(n => !dead.Contains(n.Node)), gpu, size, replicas, avoid).Take(limit);
            var actual = view.Rank(gpu, size, replicas, avoid, n => !dead.Contains(n.Node), limit);
            Assert.True(expected.SequenceEqual(actual), $"trial {trial}: {gpu} × {size}, limit {limit}: expected [{string.Join(",", expected)}], got [{string.Join(",", actual)}]");
            Assert.Equal(reference.Count, view.Count);
        }
    }

    [Fact]
    public void A_type_nobody_has_or_a_size_nobody_fits_finds_nothing()
    {
        var view = new CapacityView();
        Assert.Empty(view.Rank("H100-80GB", 1, new Dictionary<string, int>(), [], _ => true, 8));
        view.Set(new NodeCapacity("a", true, new Dictionary<string, int> { ["H100-80GB"] = 8 }, new Dictionary<string, int> { ["H100-80GB"] = 3 }, null));
        Assert.Empty(view.Rank("H100-80GB", 4, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Empty(view.Rank("A100-80GB", 1, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Equal(["a"], view.Rank("H100-80GB", 3, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Empty(view.Rank("H100-80GB", 3, new Dictionary<string, int>(), [], _ => false, 8));
    }
}
