using DeepDeploy.Gateway.Inference.Routing;
using static DeepDeploy.Tests.Gateway.Routing.RoutingTestData;

namespace DeepDeploy.Tests.Gateway.Routing;

[Trait("Category", "Unit")]
public sealed class FilterTests
{
    [Fact]
    public void Serving_drops_an_instance_that_said_it_is_loading_or_draining_until_that_time_passes()
    {
        var slot = Slot("a");
        Assert.True(ServingFilter.Instance.Keep(slot, At(100)));
        slot.NotServingUntil = 200;
        Assert.False(ServingFilter.Instance.Keep(slot, At(199)));
        Assert.True(ServingFilter.Instance.Keep(slot, At(200)));
    }

    [Fact]
    public void Healthy_drops_an_instance_during_its_cooldown()
    {
        var slot = Slot("a");
        slot.ExcludedUntil = 500;
        Assert.False(HealthyFilter.Instance.Keep(slot, At(499)));
        Assert.True(HealthyFilter.Instance.Keep(slot, At(500)));
    }

    [Fact]
    public void Slot_share_drops_a_full_instance_and_one_below_a_ceiling_it_learned_from_a_busy_refusal()
    {
        Assert.True(SlotShareFilter.Instance.Keep(Slot("a", inFlight: 3, capacity: 4), At(0)));
        Assert.False(SlotShareFilter.Instance.Keep(Slot("a", inFlight: 4, capacity: 4), At(0)));
        Assert.False(SlotShareFilter.Instance.Keep(Slot("a", inFlight: 0, capacity: 0), At(0)));

        var saturated = Slot("b", inFlight: 2, capacity: 4);
        saturated.Ceiling = 2;
        saturated.CeilingUntil = 300;
        Assert.False(SlotShareFilter.Instance.Keep(saturated, At(299)));
        Assert.True(SlotShareFilter.Instance.Keep(saturated, At(300)));
    }
}
