namespace DeepDeploy.Contracts.Billing;

/// <summary>An instance is serving, and has been without a break since <see cref="ServingSince"/> (when its deployment
/// last saw it become running). The ledger bills that whole period once, whatever renewals it missed in between.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterRenewal(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] DateTimeOffset ServingSince);
