namespace DeepDeploy.Contracts.Deployments;

/// <summary>Why a gateway sent a load report: its periodic round, or at once because its queue for the deployment
/// grew or its in-flight crossed the pressure threshold of its admitted capacity.</summary>
[GenerateSerializer]
public enum LoadTrigger
{
    PeriodicReport,
    GatewayQueue,
    GatewayInFlight,
}
