namespace DeepDeploy.Tests.Soak;

[Trait("Category", "Unit")]
public sealed class TrendTests
{
    static List<(double, double)> Series(int count, Func<int, double> value) =>
        Enumerable.Range(0, count).Select(i => (i * 10.0, value(i))).ToList();

    [Fact]
    public void A_steady_leak_in_the_second_half_grows()
    {
        // 100 MiB, then +2 MiB per 10 s sample: 36 MiB over the last 18 samples, above max(32, 10 % of ~130).
        var trend = Trend.Of(Series(36, i => 100 + (i < 18 ? 0 : 2 * (i - 18))), floor: 32);
        Assert.True(trend.Grows, trend.ToString());
        Assert.Equal(720, trend.SlopePerHour, precision: 6);
    }

    [Fact]
    public void Warm_up_growth_followed_by_a_plateau_does_not_grow()
    {
        var trend = Trend.Of(Series(36, i => i < 18 ? 50 + 10 * i : 230), floor: 32);
        Assert.False(trend.Grows, trend.ToString());
        Assert.Equal(0, trend.SlopePerHour, precision: 6);
    }

    [Fact]
    public void Noise_around_a_level_does_not_grow()
    {
        var trend = Trend.Of(Series(36, i => 200 + (i % 2 == 0 ? 15 : -15)), floor: 32);
        Assert.False(trend.Grows, trend.ToString());
    }

    [Fact]
    public void Growth_within_the_floor_or_the_share_of_the_level_is_allowed()
    {
        // +1 per sample over 18 samples = 17: within a floor of 20, but not within a floor of 10 at a level of 50.
        Assert.False(Trend.Of(Series(36, i => 50 + i), floor: 20).Grows);
        Assert.True(Trend.Of(Series(36, i => 50 + i), floor: 10).Grows);
    }

    [Fact]
    public void Churn_that_ends_on_a_high_does_not_grow()
    {
        // Connections idling out and reopening: lows stay at 8; the last samples land on highs and tilt the slope.
        var trend = Trend.Of(Series(36, i => i % 4 == 0 || i >= 30 ? 28 : 8), floor: 16);
        Assert.True(trend.Growth > trend.Allowance, trend.ToString());
        Assert.False(trend.Grows, trend.ToString());
    }

    [Fact]
    public void Too_few_samples_give_no_trend()
    {
        Assert.False(Trend.Of([(0, 1)], floor: 0).Grows);
    }
}
