using System.Text;
using System.Text.Json;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using static DeepDeploy.Tests.Gateway.Routing.RoutingTestData;

namespace DeepDeploy.Tests.Gateway.Routing;

[Trait("Category", "Unit")]
public sealed class PrefixRoutingTests
{
    static readonly string SystemPrompt = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"rule{i}"));

    static byte[] Chat(string system, string question, int maxTokens = 16) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        model = "alice/m",
        max_tokens = maxTokens,
        messages = new object[] { new { role = "system", content = system }, new { role = "user", content = question } },
    });

    static RoutingContext Request(byte[] body, LaneRoutingState state, int waiting = 0) =>
        new(0, Frequency, state, body, PrefixBlocks.For(RoutingPolicies.Prefix, body), waiting);

    /// <summary>Picks by the prefix policy and, as the lane does, counts the request in flight on the chosen instance;
    /// null when the request is to wait.</summary>
    static InstanceSlot? TryRoute(InstanceSlot[] slots, byte[] body, LaneRoutingState state, int waiting = 0)
    {
        var chosen = RoutingPolicies.Prefix.Pick(slots, new InstanceSlot[slots.Length], Request(body, state, waiting));
        if (chosen is not null)
        {
            chosen.InFlight++;
        }

        return chosen;
    }

    static InstanceSlot Route(InstanceSlot[] slots, byte[] body, LaneRoutingState state, int waiting = 0) =>
        TryRoute(slots, body, state, waiting) ?? throw new InvalidOperationException("the prefix policy made the request wait");

    [Fact]
    public void A_repeated_prefix_goes_back_to_the_instance_that_got_it()
    {
        InstanceSlot[] slots = [Slot("a"), Slot("b"), Slot("c"), Slot("d")];
        var state = new LaneRoutingState();
        var first = Route(slots, Chat(SystemPrompt, "first question"), state);
        first.InFlight--;

        for (var i = 0; i < 20; i++)
        {
            var chosen = Route(slots, Chat(SystemPrompt, $"question {i}", maxTokens: i), state);
            Assert.Same(first, chosen);
            chosen.InFlight--;
        }
    }

    [Fact]
    public void A_hot_prefix_waits_for_its_busy_instance_until_a_slot_share_waits_then_spreads_to_the_least_loaded_holder()
    {
        InstanceSlot[] slots = [Slot("a"), Slot("b"), Slot("c")];
        var state = new LaneRoutingState();
        var holder = Route(slots, Chat(SystemPrompt, "q0"), state);
        for (var i = 1; i < holder.Capacity; i++)
        {
            Assert.Same(holder, Route(slots, Chat(SystemPrompt, $"q{i}"), state));
        }

        // At its slot share: a request waits for it (a slot there frees long before a cold prefill elsewhere ends)
        // while fewer requests wait than it has slots...
        Assert.Null(TryRoute(slots, Chat(SystemPrompt, "wait"), state, waiting: 1));
        Assert.Null(TryRoute(slots, Chat(SystemPrompt, "wait"), state, waiting: holder.Capacity - 1));
        Assert.All(slots.Where(s => s != holder), s => Assert.Equal(0, s.InFlight));

        // ...then it spreads, and the instance that got it holds the prefix too.
        var second = Route(slots, Chat(SystemPrompt, "spill"), state, waiting: holder.Capacity);
        Assert.NotSame(holder, second);

        holder.InFlight = 3;
        second.InFlight = 1;
        var third = slots.Single(s => s != holder && s != second);
        Assert.Same(second, Route(slots, Chat(SystemPrompt, "after"), state));
        Assert.Equal(0, third.InFlight);
    }

    [Fact]
    public void No_request_waits_for_a_holder_that_cannot_serve_it_soon_or_holds_little_of_it()
    {
        var state = new LaneRoutingState();
        var (holder, other) = (Slot("holder"), Slot("other"));
        Assert.Same(holder, Route([holder], Chat(SystemPrompt, "warm"), state));

        holder.InFlight = holder.Capacity;
        holder.ExcludedUntil = 1; // failed a moment ago: its slots may never free
        Assert.Same(other, Route([holder, other], Chat(SystemPrompt, "q1"), state));

        holder.ExcludedUntil = 0;
        holder.NotServingUntil = 1; // draining
        Assert.Same(other, Route([holder, other], Chat(SystemPrompt, "q2"), state));

        // Less than half of this request is the prefix the full holder has: no wait.
        var (lone, fresh) = (Slot("lone"), Slot("fresh"));
        Route([lone], Chat(SystemPrompt[..(SystemPrompt.Length / 3)], "q"), state);
        lone.InFlight = lone.Capacity;
        Assert.Same(fresh, Route([lone, fresh], Chat(SystemPrompt, "mostly new"), state));
    }

    [Fact]
    public void A_busy_holder_loses_to_an_idle_instance_while_a_less_busy_one_keeps_its_prefix()
    {
        var state = new LaneRoutingState();
        var holder = Slot("holder", capacity: 10);
        var idle = Slot("idle", capacity: 10);
        Assert.Same(holder, Route([holder], Chat(SystemPrompt, "warm"), state));

        holder.InFlight = 5;
        Assert.Same(holder, Route([holder, idle], Chat(SystemPrompt, "half busy"), state));

        holder.InFlight = 9;
        Assert.Same(idle, Route([holder, idle], Chat(SystemPrompt, "nearly full"), state));
    }

    [Fact]
    public void The_longest_matching_prefix_wins_and_other_prefixes_go_by_load()
    {
        var state = new LaneRoutingState();
        var half = Slot("half");
        var whole = Slot("whole");
        var other = Slot("other");
        var shared = SystemPrompt[..(SystemPrompt.Length / 2)];
        Route([half], Chat(shared + " and then something else entirely, long enough to fill blocks of its own " + SystemPrompt, "q"), state);
        Route([whole], Chat(SystemPrompt, "q"), state);
        (half.InFlight, whole.InFlight) = (0, 0);

        Assert.Same(whole, Route([half, other, whole], Chat(SystemPrompt, "which?"), state));
        whole.InFlight = 0;

        // A prefix nobody holds, the load equal: the instance given no prefix yet gets it.
        (half.InFlight, whole.InFlight, other.InFlight) = (1, 1, 1);
        Assert.Same(other, Route([half, other, whole], Chat("a different system prompt " + SystemPrompt, "q"), state));
    }

    [Fact]
    public void New_prefixes_go_to_the_instance_given_fewer_prefix_blocks_unless_it_is_busier()
    {
        for (var round = 0; round < 20; round++)
        {
            var state = new LaneRoutingState();
            var (full, light) = (Slot("full"), Slot("light"));
            Route([full], Chat(SystemPrompt + " " + SystemPrompt, "q"), state);
            Route([light], Chat("short " + SystemPrompt[..(SystemPrompt.Length / 4)], "q"), state);
            (full.InFlight, light.InFlight) = (0, 0);

            Assert.Same(light, Route([full, light], Chat($"new prompt {round} " + SystemPrompt, "q"), state));
            Assert.True(state.Prefix!.Held(light) > state.Prefix.Held(full) / 2);
        }

        // One more request in flight weighs more than a 3:2 imbalance of the caches.
        var busy = new LaneRoutingState();
        var (a, b) = (Slot("a"), Slot("b"));
        Route([a], Chat(SystemPrompt, "q"), busy);
        Route([b], Chat("short " + SystemPrompt[..(SystemPrompt.Length * 2 / 3)], "q"), busy);
        (a.InFlight, b.InFlight) = (0, 1);
        Assert.Same(a, Route([a, b], Chat("another new prompt " + SystemPrompt, "q"), busy));
    }

    [Fact]
    public void Ties_are_broken_at_random_between_equal_instances()
    {
        InstanceSlot[] slots = [Slot("a"), Slot("b"), Slot("c")];
        var firstPicks = new HashSet<string>();
        for (var i = 0; i < 200 && firstPicks.Count < slots.Length; i++)
        {
            var chosen = Route(slots, Chat(SystemPrompt, "q"), new LaneRoutingState());
            chosen.InFlight--;
            firstPicks.Add(chosen.InstanceId);
        }

        Assert.Equal(slots.Length, firstPicks.Count);

        // Two instances that both hold the prefix with the same load share it.
        var state = new LaneRoutingState();
        var (a, b) = (Slot("a"), Slot("b"));
        Route([a], Chat(SystemPrompt, "q"), state);
        Route([b], Chat(SystemPrompt, "q"), state);
        var picked = new HashSet<string>();
        for (var i = 0; i < 200 && picked.Count < 2; i++)
        {
            (a.InFlight, b.InFlight) = (1, 1);
            picked.Add(Route([a, Slot("cold", inFlight: 1), b], Chat(SystemPrompt, $"q{i}"), state).InstanceId);
        }

        Assert.Equal(["a", "b"], picked.Order());
    }

    [Fact]
    public void The_index_stays_within_its_capacity_and_forgets_the_least_recent_prefixes()
    {
        var index = new PrefixIndex(capacity: 64);
        var a = Slot("a");
        var blocks = new List<ulong[]>();
        for (var i = 0; i < 1000; i++)
        {
            var prompt = PrefixBlocks.Hash(Chat($"tenant {i} " + SystemPrompt[..600], "q"));
            Assert.True(prompt.Length >= 4);
            blocks.Add(prompt);
            index.Record(prompt, a);
            Assert.True(index.Count <= 64, $"{index.Count} blocks remembered");
        }

        Assert.Equal(64, index.Count);
        Assert.Equal(64, index.Held(a)); // what the balance scorer reads follows the evictions
        index.Match(blocks[^1]);
        Assert.Equal(1.0, index.MatchedFraction(a));
        index.Match(blocks[0]);
        Assert.Equal(0.0, index.MatchedFraction(a));
    }

    [Fact]
    public void A_block_remembers_its_most_recent_holders_only()
    {
        var index = new PrefixIndex();
        var slots = Enumerable.Range(0, PrefixIndex.HoldersPerBlock + 2).Select(i => Slot($"s{i}")).ToArray();
        var prompt = PrefixBlocks.Hash(Chat(SystemPrompt, "q"));
        foreach (var slot in slots)
        {
            index.Record(prompt, slot);
        }

        index.Match(prompt);
        Assert.Equal(0.0, index.MatchedFraction(slots[0]));
        Assert.Equal(0.0, index.MatchedFraction(slots[1]));
        Assert.All(slots[2..], s => Assert.Equal(1.0, index.MatchedFraction(s)));
        Assert.Equal(0, index.Held(slots[0]));
        Assert.Equal(prompt.Length, index.Held(slots[^1]));
    }

    [Fact]
    public void Blocks_follow_the_messages_not_the_other_fields_or_the_whitespace()
    {
        var compact = PrefixBlocks.Hash(Chat(SystemPrompt, "q", maxTokens: 1));
        var pretty = Encoding.UTF8.GetBytes($$"""
            {
              "messages": [ { "role": "system", "content": "{{SystemPrompt}}" },
                            { "role": "user", "content": "q" } ],
              "temperature": 0.5,
              "model": "bob/other",
              "stream": true
            }
            """);
        Assert.True(compact.Length > 8);
        Assert.Equal(compact, PrefixBlocks.Hash(pretty));

        var otherQuestion = PrefixBlocks.Hash(Chat(SystemPrompt, "a much longer question that fills more than one block of its own, "
            + "so that the last blocks differ from the first request's blocks"));
        Assert.Equal(compact, otherQuestion[..compact.Length]);
        Assert.NotEqual(compact[^1], otherQuestion[compact.Length]);

        var otherSystem = PrefixBlocks.Hash(Chat("x" + SystemPrompt, "q"));
        Assert.Empty(compact.Intersect(otherSystem));
    }

    [Fact]
    public void Prompts_and_native_inputs_are_blocks_too_and_bad_bodies_have_none()
    {
        var prompt = PrefixBlocks.Hash(Encoding.UTF8.GetBytes($$"""{"model":"m","prompt":"{{SystemPrompt}}"}"""));
        var input = PrefixBlocks.Hash(Encoding.UTF8.GetBytes($$"""{"input":"{{SystemPrompt}}","max_new_tokens":3}"""));
        Assert.Equal(SystemPrompt.Length / PrefixBlocks.BlockBytes, prompt.Length, tolerance: 1);
        Assert.Equal(prompt.Length, input.Length);

        Assert.Empty(PrefixBlocks.Hash("not json"u8));
        Assert.Empty(PrefixBlocks.Hash("""{"messages": [ {"role": "user", "content": "cut"""u8));
        Assert.Empty(PrefixBlocks.Hash("[1, 2, 3]"u8));
        Assert.Empty(PrefixBlocks.Hash("""{"model":"m","messages":[{"role":"user","content":"short"}]}"""u8));
        Assert.Empty(PrefixBlocks.Hash([]));

        var huge = PrefixBlocks.Hash(Chat(string.Concat(Enumerable.Repeat(SystemPrompt, 30)), "q"));
        Assert.Equal(PrefixBlocks.MaxBlocks, huge.Length);
    }

    [Fact]
    public void Other_policies_hash_nothing() =>
        Assert.True(PrefixBlocks.For(RoutingPolicies.LeastLoaded, Chat(SystemPrompt, "q")).IsEmpty);

    [Fact]
    public async Task In_a_lane_a_request_whose_holder_is_full_waits_for_its_slot_while_another_instance_is_free()
    {
        var route = new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 2, 0,
            [new RouteInstance("i0", "http://10.0.0.1:8000"), new RouteInstance("i1", "http://10.0.0.2:8000")], 1);
        var lane = new DeploymentLane(route, new InferenceOptions(), TimeProvider.System, _ => { }) { Policy = RoutingPolicies.Prefix };
        lane.Update(route, 0, 1);

        var first = (await lane.AcquireAsync(null, Chat(SystemPrompt, "q0"), retry: false, CancellationToken.None)).Lease!;
        var second = (await lane.AcquireAsync(null, Chat(SystemPrompt, "q1"), retry: false, CancellationToken.None)).Lease!;
        Assert.Same(first.Slot, second.Slot);

        var waiting = lane.AcquireAsync(null, Chat(SystemPrompt, "q2"), retry: false, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, lane.Waiting);

        first.Release();
        var third = (await waiting).Lease!;
        Assert.Same(second.Slot, third.Slot);
        second.Release();
        third.Release();
    }

    [Fact]
    public async Task A_lane_with_the_prefix_policy_sends_a_repeated_prefix_to_the_same_instance()
    {
        var route = new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, 8, 0,
            Enumerable.Range(0, 4).Select(i => new RouteInstance($"i{i}", $"http://10.0.0.{i}:8000")).ToArray(), 1);
        var lane = new DeploymentLane(route, new InferenceOptions(), TimeProvider.System, _ => { }) { Policy = RoutingPolicies.Prefix };
        lane.Update(route, 0, 1);

        var first = (await lane.AcquireAsync(null, Chat(SystemPrompt, "q"), retry: false, CancellationToken.None)).Lease!;
        first.Release();
        for (var i = 0; i < 10; i++)
        {
            var lease = (await lane.AcquireAsync(null, Chat(SystemPrompt, $"q{i}"), retry: false, CancellationToken.None)).Lease!;
            Assert.Equal(first.Slot.InstanceId, lease.Slot.InstanceId);
            lease.Release();
        }
    }
}
