namespace DeepDeploy.Contracts.Routing;

/// <summary>
/// How the live gateways split an instance's max_batch_size slots: each gets max_batch_size / G, and the
/// remainder goes one slot each to the next gateways in a rotation that starts at a different gateway for each
/// instance (so that remainders spread evenly). The shares of all gateways add up to exactly max_batch_size.
/// </summary>
public static class SlotShare
{
    /// <param name="maxBatchSize">The instance's slots.</param>
    /// <param name="instanceIndex">The instance's position in its deployment's route (ordered by instance id).</param>
    /// <param name="gatewayRank">This gateway's position among the live gateways (ordered by id).</param>
    /// <param name="gatewayCount">Live gateways; at least 1.</param>
    public static int For(int maxBatchSize, int instanceIndex, int gatewayRank, int gatewayCount)
    {
        if (gatewayCount <= 1)
            return maxBatchSize;
        var share = maxBatchSize / gatewayCount;
        var extra = maxBatchSize % gatewayCount;
        var offset = ((gatewayRank - instanceIndex) % gatewayCount + gatewayCount) % gatewayCount;
        return share + (offset < extra ? 1 : 0);
    }
}
