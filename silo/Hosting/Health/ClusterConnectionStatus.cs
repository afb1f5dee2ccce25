namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>Whether a cluster client (the gateway role alone) has a live connection: it has one once started
/// (the client's start waits for it), loses it when the cluster says so and regains it with a gateway.</summary>
public sealed class ClusterConnectionStatus : IClusterConnectionStatusObserver
{
    volatile bool _lost;

    public bool Connected => !_lost;

    public void NotifyClusterConnectionLost() => _lost = true;

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered) =>
        _lost = currentNumberOfGateways == 0;
}
