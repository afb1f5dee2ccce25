using DeepDeploy.Grains.Telemetry;

namespace DeepDeploy.Tests.Telemetry;

[Trait("Category", "Unit")]
public sealed class ControlPlaneScaleReasonTests
{
    [Theory]
    [InlineData(0, 1, 1, 3, "min_instances")]
    [InlineData(0, 1, 0, 3, "cold_start")]
    [InlineData(1, 3, 1, 3, "load")]
    [InlineData(3, 1, 1, 3, "load")]
    [InlineData(1, 0, 0, 3, "idle")]
    [InlineData(4, 2, 1, 2, "max_instances")]
    public void A_decision_names_what_bounds_it(int from, int to, int min, int max, string reason) =>
        Assert.Equal(reason, ScaleReason.Of(from, to, min, max));
}
