using DeepDeploy.Contracts.Routing;

namespace DeepDeploy.Tests.Gateway;

[Trait("Category", "Unit")]
public sealed class SlotShareTests
{
    [Theory]
    [InlineData(4, 1)]
    [InlineData(4, 2)]
    [InlineData(4, 3)]
    [InlineData(96, 5)]
    [InlineData(3, 7)]
    [InlineData(1, 2)]
    public void Shares_of_all_gateways_add_up_to_max_batch_size_and_differ_by_at_most_one(int maxBatchSize, int gateways)
    {
        for (var instance = 0; instance < 10; instance++)
        {
            var shares = Enumerable.Range(0, gateways).Select(g => SlotShare.For(maxBatchSize, instance, g, gateways)).ToArray();
            Assert.Equal(maxBatchSize, shares.Sum());
            Assert.True(shares.Max() - shares.Min() <= 1);
        }

        // Remainder slots rotate: over as many instances as gateways, every gateway gets the same total.
        var totals = Enumerable.Range(0, gateways)
            .Select(g => Enumerable.Range(0, gateways).Sum(i => SlotShare.For(maxBatchSize, i, g, gateways)))
            .Distinct();
        Assert.Single(totals);
    }
}
