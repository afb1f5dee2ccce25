using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using static DeepDeploy.Tests.Gateway.Routing.RoutingTestData;

namespace DeepDeploy.Tests.Gateway.Routing;

[Trait("Category", "Unit")]
public sealed class RoutingPolicyTests
{
    [Fact]
    public void Every_policy_keeps_the_filters_so_a_full_or_excluded_instance_is_never_picked()
    {
        var full = Slot("full", inFlight: 4, capacity: 4);
        var excluded = Slot("excluded");
        excluded.ExcludedUntil = 1000;
        var draining = Slot("draining");
        draining.NotServingUntil = 1000;
        var free = Slot("free", inFlight: 3, capacity: 4);
        InstanceSlot[] slots = [full, excluded, draining, free];
        var buffer = new InstanceSlot[slots.Length];

        foreach (var policy in RoutingPolicies.All)
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.Same(free, policy.Pick(slots, buffer, At(0)));
            }

            Assert.Null(policy.Pick([full, excluded, draining], buffer, At(0)));
        }
    }

    [Fact]
    public void Least_loaded_prefers_a_free_instance_then_one_without_a_busy_refusal_or_recent_failures()
    {
        var buffer = new InstanceSlot[2];
        var loaded = Slot("loaded", inFlight: 2);
        var idle = Slot("idle");
        Assert.Same(idle, RoutingPolicies.LeastLoaded.Pick([loaded, idle], buffer, At(0)));

        var failed = Slot("failed");
        failed.Failures = 1;
        failed.LastFailure = 0;
        Assert.Same(idle, RoutingPolicies.LeastLoaded.Pick([failed, idle], buffer, At(10)));

        var refused = Slot("refused");
        refused.CeilingSince = 10;
        refused.CeilingUntil = 110;
        Assert.Same(idle, RoutingPolicies.LeastLoaded.Pick([refused, idle], buffer, At(160)));

        // Load still comes first: an idle instance that failed once beats one with three quarters of its slots taken.
        Assert.Same(failed, RoutingPolicies.LeastLoaded.Pick([Slot("busy", inFlight: 3), failed], buffer, At(10)));
    }

    [Fact]
    public void Least_loaded_weighs_a_long_generation_against_several_short_ones()
    {
        var buffer = new InstanceSlot[2];
        var state = new LaneRoutingState { OutstandingTokens = 108 };
        var long_ = Slot("long", inFlight: 1);
        long_.OutstandingTokens = 100;
        var shorts = Slot("shorts", inFlight: 2);
        shorts.OutstandingTokens = 8;

        // One 100-token generation outweighs two 4-token ones: the short request goes beside the short ones.
        Assert.Same(shorts, RoutingPolicies.LeastLoaded.Pick([long_, shorts], buffer, At(0, state)));

        // Slots still come first: three short generations against one long one, the long one's instance wins.
        shorts.InFlight = 3;
        shorts.OutstandingTokens = 12;
        state.OutstandingTokens = 112;
        Assert.Same(long_, RoutingPolicies.LeastLoaded.Pick([long_, shorts], buffer, At(0, state)));
    }

    [Theory]
    [InlineData("least-loaded")]
    [InlineData("ROUND-ROBIN")]
    [InlineData("random")]
    [InlineData("Prefix")]
    public void Policies_are_found_by_name_ignoring_case(string name) =>
        Assert.Equal(name.ToLowerInvariant(), RoutingPolicies.Find(name)!.Name);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("fastest")]
    [InlineData("least-loaded ")]
    public void Unknown_names_find_nothing(string? name) => Assert.Null(RoutingPolicies.Find(name));

    [Fact]
    public void Options_give_a_deployment_its_own_default_and_reject_unknown_names()
    {
        var options = new InferenceOptions { Routing = "random", RoutingByModel = { ["alice/m"] = "round-robin" } };
        Assert.True(options.RoutingIsValid());
        Assert.Same(RoutingPolicies.RoundRobin, options.RoutingFor("alice/m"));
        Assert.Same(RoutingPolicies.Random, options.RoutingFor("bob/m"));
        Assert.Same(RoutingPolicies.LeastLoaded, new InferenceOptions().RoutingFor("bob/m"));
        Assert.False(new InferenceOptions { Routing = "fastest" }.RoutingIsValid());
        Assert.False(new InferenceOptions { RoutingByModel = { ["alice/m"] = "fastest" } }.RoutingIsValid());
    }
}
