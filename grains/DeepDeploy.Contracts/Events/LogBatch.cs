namespace DeepDeploy.Contracts.Events;

/// <summary>Engine output lines of one deployment on one node, published together (one stream item per
/// flush, not per line).</summary>
[GenerateSerializer, Immutable]
public sealed record LogBatch([property: Id(0)] IReadOnlyList<LogLine> Lines);
