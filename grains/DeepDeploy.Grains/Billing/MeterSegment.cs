namespace DeepDeploy.Grains.Billing;

[GenerateSerializer, Immutable]
public sealed record MeterSegment([property: Id(0)] DateTimeOffset From, [property: Id(1)] DateTimeOffset To);
