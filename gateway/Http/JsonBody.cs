using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Http;

/// <summary>Reads a JSON request body into its request record (<see cref="RequestJsonContext"/>): leniently where
/// DeepInfra's own examples need it (trailing commas, comments), strictly everywhere else (unknown fields refused),
/// with errors that name the field.</summary>
public static class JsonBody
{
    public const int MaxBytes = 64 * 1024;

    static readonly JsonReaderOptions SyntaxOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = RequestJsonContext.MaxDepth,
    };

    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken cancellationToken,
        int maxBytes = MaxBytes)
        where T : class
    {
        var body = await ReadBytesAsync(request, maxBytes, cancellationToken);
        EnsureObject(body);
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? throw NotAnObject();
        }
        catch (JsonException e)
        {
            throw JsonFieldError.From(e, type);
        }
    }

    /// <summary>The raw body, refused as <c>body_too_large</c> beyond <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        if (request.ContentLength is { } length)
        {
            // The usual case: one exact buffer, no copies.
            var exact = new byte[length];
            var filled = 0;
            int n;
            while (filled < exact.Length && (n = await request.Body.ReadAsync(exact.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += n;
            }

            return filled == exact.Length ? exact
                : throw new BadRequestException("body", "The body is shorter than its Content-Length.", "invalid_json");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Checks the syntax before the records are bound, so that every error the binder raises afterwards
    /// is about a field (its type, or a name the record does not know).</summary>
    static void EnsureObject(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, SyntaxOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw NotAnObject();
            }

            reader.Skip();
            if (reader.Read())
            {
                throw new BadRequestException("body", "The body is not valid JSON: more than one value.", "invalid_json");
            }
        }
        catch (JsonException e)
        {
            throw new BadRequestException("body", $"The body is not valid JSON: {e.Message}", "invalid_json");
        }
    }

    static BadRequestException NotAnObject() => new("body", "The body must be a JSON object.", "invalid_json");

    static BadRequestException TooLarge(int maxBytes) => new("body", $"The body is larger than {maxBytes} bytes.", "body_too_large");
}
