namespace DeepDeploy.Tests.Telemetry;

/// <summary>
/// Reads the fields the tests need from an OTLP/HTTP protobuf <c>ExportTraceServiceRequest</c> (opentelemetry-proto
/// trace/v1): resource_spans(1) → resource(1).attributes(1), scope_spans(2) → spans(2) → trace_id(1), span_id(2),
/// parent_span_id(4), name(5), kind(6), attributes(9); KeyValue key(1), value(2) → AnyValue string(1), bool(2),
/// int(3). Unknown fields are skipped by wire type.
/// </summary>
public static class OtlpTraceReader
{
    public static List<OtlpSpan> Read(byte[] request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var (field, resourceSpans) in Messages(request))
        {
            if (field != 1)
            {
                continue;
            }

            var service = "";
            foreach (var (f, part) in Messages(resourceSpans))
            {
                if (f == 1)
                {
                    service = Attributes(part).GetValueOrDefault("service.name", "");
                }
            }

            foreach (var (f, scopeSpans) in Messages(resourceSpans))
            {
                if (f != 2)
                {
                    continue;
                }

                foreach (var (g, span) in Messages(scopeSpans))
                {
                    if (g == 2)
                    {
                        spans.Add(Span(service, span));
                    }
                }
            }
        }

        return spans;
    }

    static OtlpSpan Span(string service, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        foreach (var (field, wire, number, bytes) in Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(bytes.Span); break;
                case 2: spanId = Convert.ToHexStringLower(bytes.Span); break;
                case 4: parent = Convert.ToHexStringLower(bytes.Span); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(bytes.Span); break;
                case 6 when wire == 0: kind = (int)number; break;
            }
        }

        return new OtlpSpan(service, traceId, spanId, parent, name, kind, Attributes(span, 9));
    }

    static Dictionary<string, string> Attributes(ReadOnlyMemory<byte> message, int field = 1)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var (f, keyValue) in Messages(message))
        {
            if (f != field)
            {
                continue;
            }

            string key = "", value = "";
            foreach (var (g, wire, number, bytes) in Fields(keyValue))
            {
                if (g == 1)
                {
                    key = System.Text.Encoding.UTF8.GetString(bytes.Span);
                }
                else if (g == 2 && wire == 2)
                {
                    foreach (var (h, w, n, b) in Fields(bytes))
                    {
                        value = h == 1 && w == 2 ? System.Text.Encoding.UTF8.GetString(b.Span)
                            : h == 2 ? (n != 0).ToString()
                            : h == 3 ? ((long)n).ToString(System.Globalization.CultureInfo.InvariantCulture)
                            : value;
                    }
                }
            }

            attributes[key] = value;
        }

        return attributes;
    }

    static IEnumerable<(int Field, ReadOnlyMemory<byte> Bytes)> Messages(ReadOnlyMemory<byte> message) =>
        Fields(message).Where(f => f.Wire == 2).Select(f => (f.Field, f.Bytes));

    /// <summary>Every field of a message: number, wire type, varint or fixed value, length-delimited bytes.</summary>
    static IEnumerable<(int Field, int Wire, ulong Number, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlyMemory<byte> message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = Varint(message.Span, ref at);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wire)
            {
                case 0:
                    yield return (field, wire, Varint(message.Span, ref at), default);
                    break;
                case 1:
                    yield return (field, wire, BitConverter.ToUInt64(message.Span.Slice(at, 8)), default);
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(message.Span, ref at);
                    yield return (field, wire, 0, message.Slice(at, length));
                    at += length;
                    break;
                case 5:
                    yield return (field, wire, BitConverter.ToUInt32(message.Span.Slice(at, 4)), default);
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported wire type {wire}");
            }
        }
    }

    static ulong Varint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
