using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Placement;

/// <summary>The registry's indexed view ranks exactly as <see cref="PlacementPolicy.Rank"/> does (the reference),
/// cut to the first few, whatever the changes, replicas, avoided and dead nodes; and GPUs it handed out are held until
/// the node's push shows them taken, so concurrent placements do not race for one node.</summary>
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
            var view = new CapacityView(TimeProvider.System);
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
        var view = new CapacityView(TimeProvider.System);
        Assert.Empty(view.Rank("H100-80GB", 1, new Dictionary<string, int>(), [], _ => true, 8));
        view.Set(new NodeCapacity("a", true, new Dictionary<string, int> { ["H100-80GB"] = 8 }, new Dictionary<string, int> { ["H100-80GB"] = 3 }, null));
        Assert.Empty(view.Rank("H100-80GB", 4, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Empty(view.Rank("A100-80GB", 1, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Equal(["a"], view.Rank("H100-80GB", 3, new Dictionary<string, int>(), [], _ => true, 8));
        Assert.Empty(view.Rank("H100-80GB", 3, new Dictionary<string, int>(), [], _ => false, 8));
    }

    const string H100 = "H100-80GB";

    static NodeCapacity Free(string name, int free, int total = 8) =>
        new(name, true, new Dictionary<string, int> { [H100] = total }, new Dictionary<string, int> { [H100] = free }, null);

    static IReadOnlyList<string> Find(CapacityView view, int numGpus, bool hold = true)
    {
        var nodes = view.Rank(H100, numGpus, new Dictionary<string, int>(), [], _ => true, 32);
        if (hold && nodes.Count > 0)
        {
            view.Hold(nodes[0], H100, numGpus);
        }

        return nodes;
    }

    [Fact]
    public void Concurrent_callers_are_handed_different_nodes_until_the_held_gpus_run_out()
    {
        var view = new CapacityView(TimeProvider.System);
        foreach (var name in new[] { "a", "b", "c" })
        {
            view.Set(Free(name, 8));
        }

        // No node has pushed yet: each caller's first choice is a node the earlier callers' holds leave room on.
        Assert.Equal(["a", "b", "c"], Enumerable.Range(0, 3).Select(_ => Find(view, 8)[0]));
        Assert.Empty(Find(view, 1));
        Assert.Equal(24, view.HeldGpus);

        // Best fit on what is left: singles fill the held-down node before opening another.
        view = new CapacityView(TimeProvider.System);
        view.Set(Free("a", 2));
        view.Set(Free("b", 3));
        Assert.Equal(["a", "a", "b", "b", "b"], Enumerable.Range(0, 5).Select(_ => Find(view, 1)[0]));
        Assert.Empty(Find(view, 1));
    }

    [Fact]
    public void The_nodes_push_that_shows_the_gpus_taken_releases_the_hold_and_nothing_else_does()
    {
        var time = new FakeTimeProvider();
        var view = new CapacityView(time);
        view.Set(Free("a", 6));
        Assert.Equal(["a"], Find(view, 2));
        Assert.Empty(Find(view, 5, hold: false));

        // An instance gone from the node (free up by one): the start is not in it, the hold stays.
        view.Set(Free("a", 7));
        Assert.Empty(Find(view, 6, hold: false));
        Assert.Equal(["a"], Find(view, 5, hold: false));

        // The start lands (free down by two): released, counted once.
        view.Set(Free("a", 5));
        Assert.Equal(0, view.HeldGpus);
        Assert.Equal(["a"], Find(view, 5, hold: false));

        // A drop smaller than the oldest hold (another placement's single) releases nothing.
        Assert.Equal(["a"], Find(view, 2));
        view.Set(Free("a", 4));
        Assert.Equal(2, view.HeldGpus);

        // A hold whose start never reaches the node ends after HoldFor.
        time.Advance(CapacityView.HoldFor - TimeSpan.FromMilliseconds(1));
        Assert.Empty(Find(view, 3, hold: false));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["a"], Find(view, 4, hold: false));
        Assert.Equal(0, view.HeldGpus);
    }

    /// <summary>Placers and nodes interleaved at random: each placer asks, the node later takes or refuses its start and
    /// pushes; instances also end. With holds no start is refused; without them (the same schedule) starts race.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Interleaved_placements_never_race_for_one_node_while_holds_are_kept(bool hold)
    {
        var random = new Random(5);
        var view = new CapacityView(TimeProvider.System);
        var used = Enumerable.Range(0, 20).ToDictionary(i => $"n{i:D2}", _ => 0, StringComparer.Ordinal);
        foreach (var node in used.Keys)
        {
            view.Set(Free(node, 8));
        }

        var pending = new List<(string Node, int Gpus)>();
        var running = new List<(string Node, int Gpus)>();
        var (started, refused) = (0, 0);
        for (var step = 0; step < 5_000; step++)
        {
            switch (random.Next(10))
            {
                case < 5:
                    var size = new[] { 1, 2, 4, 8 }[random.Next(4)];
                    if (Find(view, size, hold) is [var first, ..])
                    {
                        pending.Add((first, size));
                    }

                    break;
                case < 9 when pending.Count > 0:
                    var start = pending[random.Next(pending.Count)];
                    pending.Remove(start);
                    if (8 - used[start.Node] >= start.Gpus)
                    {
                        used[start.Node] += start.Gpus;
                        running.Add(start);
                        started++;
                        view.Set(Free(start.Node, 8 - used[start.Node]));
                    }
                    else
                    {
                        refused++;
                    }

                    break;
                case 9 when running.Count > 0:
                    var gone = running[random.Next(running.Count)];
                    running.Remove(gone);
                    used[gone.Node] -= gone.Gpus;
                    view.Set(Free(gone.Node, 8 - used[gone.Node]));
                    break;
            }
        }

        Assert.True(started > 500, $"only {started} started");
        if (hold)
        {
            Assert.Equal(0, refused);
        }
        else
        {
            Assert.True(refused > 100, $"without holds only {refused} starts raced: the schedule does not test holds");
        }
    }
}
