using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Translates a native text-generation body (<see cref="NativeBody"/>) into the engine's OpenAI
/// /v1/completions body.</summary>
public static class NativeRequest
{
    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Validates <paramref name="body"/> and returns the engine's completions body and whether it streams.</summary>
    public static (byte[] Body, bool Stream) ToCompletions(NativeBody body, string model)
    {
        var valid = body.Validate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("prompt", valid.Input);
            w.WriteNumber("max_tokens", valid.MaxNewTokens!.Value);
            w.WriteNumber("temperature", valid.Temperature!.Value);
            w.WriteNumber("top_p", valid.TopP!.Value);
            w.WriteStartArray("stop");
            foreach (var x in valid.Stop!)
            {
                w.WriteStringValue(x);
            }

            w.WriteEndArray();
            w.WriteBoolean("stream", valid.Stream!.Value);
            if (valid.Seed is { } seed)
            {
                w.WriteNumber("seed", seed);
            }

            w.WriteEndObject();
        }

        return (buffer.ToArray(), valid.Stream.Value);
    }
}
