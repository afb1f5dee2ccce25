namespace DeepDeploy.Contracts.Nodes;

/// <summary>The operator's nodes-and-GPUs view: every registered node with its state and which instance holds which
/// GPU. A stateless worker, so the fan-out to the node grains never waits on the registry's turn.</summary>
public interface INodeOverviewGrain : IGrainWithIntegerKey
{
    Task<IReadOnlyList<NodeOverview>> List();
}
