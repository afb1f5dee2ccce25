using System.Text.Encodings.Web;
using System.Text.Json;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// DeepInfra's native text-generation body (<c>POST /v1/inference/{user}/{model}</c>): <c>input</c> (required),
/// <c>max_new_tokens</c> (default 512), <c>temperature</c> (default 0.7), <c>top_p</c> (default 0.9), <c>stop</c>
/// (a string or up to 4 strings), <c>stream</c>, <c>seed</c>; other fields are refused with a 400 naming them.
/// Translated into the engine's OpenAI /v1/completions body.
/// </summary>
public static class NativeRequest
{
    public const int DefaultMaxNewTokens = 512;
    public const double DefaultTemperature = 0.7;
    public const double DefaultTopP = 0.9;

    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Validates <paramref name="body"/> and returns the engine's completions body and whether it streams.</summary>
    public static (byte[] Body, bool Stream) ToCompletions(JsonElement body, string model)
    {
        JsonBody.RejectUnknown(body, "", "input", "max_new_tokens", "temperature", "top_p", "stop", "stream", "seed");
        var input = JsonBody.String(body, "input") ?? throw new BadRequestException("input", "'input' is required: the text to continue.", "missing_field");
        var maxNewTokens = JsonBody.Int(body, "max_new_tokens") ?? DefaultMaxNewTokens;
        if (maxNewTokens < 1)
        {
            throw new BadRequestException("max_new_tokens", "'max_new_tokens' must be at least 1.");
        }

        var temperature = Number(body, "temperature") ?? DefaultTemperature;
        if (temperature is < 0 or > 2)
        {
            throw new BadRequestException("temperature", "'temperature' must be between 0 and 2.");
        }

        var topP = Number(body, "top_p") ?? DefaultTopP;
        if (topP is <= 0 or > 1)
        {
            throw new BadRequestException("top_p", "'top_p' must be greater than 0 and at most 1.");
        }

        IReadOnlyList<string> stop = body.TryGetProperty("stop", out var s) && s.ValueKind == JsonValueKind.String
            ? [s.GetString()!]
            : JsonBody.StringArray(body, "stop") ?? [];
        if (stop.Count > 4 || stop.Any(x => x.Length == 0))
        {
            throw new BadRequestException("stop", "'stop' must be a string or at most 4 non-empty strings.");
        }

        var stream = false;
        if (body.TryGetProperty("stream", out var st) && st.ValueKind != JsonValueKind.Null)
        {
            stream = st.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new BadRequestException("stream", "'stream' must be true or false.", "invalid_type"),
            };
        }

        long? seed = null;
        if (body.TryGetProperty("seed", out var sd) && sd.ValueKind != JsonValueKind.Null)
        {
            seed = sd.ValueKind == JsonValueKind.Number && sd.TryGetInt64(out var v) ? v
                : throw new BadRequestException("seed", "'seed' must be an integer.", "invalid_type");
        }

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("prompt", input);
            w.WriteNumber("max_tokens", maxNewTokens);
            w.WriteNumber("temperature", temperature);
            w.WriteNumber("top_p", topP);
            w.WriteStartArray("stop");
            foreach (var x in stop)
            {
                w.WriteStringValue(x);
            }

            w.WriteEndArray();
            w.WriteBoolean("stream", stream);
            if (seed is { } value)
            {
                w.WriteNumber("seed", value);
            }

            w.WriteEndObject();
        }

        return (buffer.ToArray(), stream);
    }

    static double? Number(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw new BadRequestException(name, $"'{name}' must be a number.", "invalid_type");
    }
}
