using System.Text.Json;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Inference;

/// <summary>What the gateway reads of an OpenAI-style body before forwarding its original bytes: the model and the
/// request's size for routing.</summary>
/// <param name="Model">The top-level "model" string (null when absent or null).</param>
/// <param name="MaxTokens"><c>max_completion_tokens</c>, else <c>max_tokens</c>, when a positive integer; anything else
/// is left to the engine to refuse.</param>
public readonly record struct RequestHead(string? Model, int? MaxTokens)
{
    static readonly JsonReaderOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Reads the top level without building a document. The whole body is read, so that malformed JSON is
    /// refused here (400 invalid_json) rather than waking an instance, and a second "model" is refused as ambiguous.</summary>
    public static RequestHead Read(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new BadRequestException("body", "The body must be a JSON object.", "invalid_json");
            }

            string? model = null;
            int? maxTokens = null, maxCompletionTokens = null;
            var seen = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                var isMaxTokens = !isModel && reader.ValueTextEquals("max_tokens"u8);
                var isMaxCompletionTokens = !isModel && !isMaxTokens && reader.ValueTextEquals("max_completion_tokens"u8);
                reader.Read();
                if (isMaxTokens || isMaxCompletionTokens)
                {
                    var size = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n) && n > 0 ? n : (int?)null;
                    if (isMaxTokens)
                    {
                        maxTokens = size;
                    }
                    else
                    {
                        maxCompletionTokens = size;
                    }

                    // Not a number: an object or array to step over (the engine refuses it).
                    reader.Skip();
                    continue;
                }

                if (!isModel)
                {
                    reader.Skip();
                    continue;
                }

                model = seen ? throw new BadRequestException("model", "'model' appears more than once.", "invalid_field")
                    : reader.TokenType == JsonTokenType.String ? reader.GetString()
                    : reader.TokenType == JsonTokenType.Null ? null
                    : throw new BadRequestException("model", "'model' must be a string.", "invalid_type");
                seen = true;
            }

            // Past the object's end: throws on trailing content.
            reader.Read();
            return new RequestHead(model, maxCompletionTokens ?? maxTokens);
        }
        catch (JsonException e)
        {
            throw new BadRequestException("body", $"The body is not valid JSON: {e.Message}", "invalid_json");
        }
    }
}
