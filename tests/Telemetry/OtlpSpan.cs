namespace DeepDeploy.Tests.Telemetry;

/// <summary>One span as an OTLP exporter sent it (ids in lowercase hex, as Activity writes them).</summary>
public sealed record OtlpSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes)
{
    public const int ServerKind = 2;
}
