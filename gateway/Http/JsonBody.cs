using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Http;

/// <summary>Reads a JSON request body leniently where DeepInfra's own examples need it (trailing commas,
/// comments) and strictly everywhere else, with errors that name the field.</summary>
public static class JsonBody
{
    public const int MaxBytes = 64 * 1024;

    static readonly JsonDocumentOptions Options = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 16,
    };

    public static async Task<JsonElement> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken, int maxBytes = MaxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw new BadRequestException("body", $"The body is larger than {maxBytes} bytes.", "body_too_large");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new BadRequestException("body", $"The body is larger than {maxBytes} bytes.", "body_too_large");
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray(), Options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new BadRequestException("body", "The body must be a JSON object.", "invalid_json");
            }

            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BadRequestException("body", $"The body is not valid JSON: {e.Message}", "invalid_json");
        }
    }

    public static void RejectUnknown(JsonElement obj, string path, params string[] known)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new BadRequestException(path + property.Name,
                    $"Unknown field '{path}{property.Name}'. Known fields: {string.Join(", ", known)}.", "unknown_field");
            }
        }
    }

    public static string? String(JsonElement obj, string name, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new BadRequestException(path + name, $"'{path}{name}' must be a string.", "invalid_type");
    }

    public static int? Int(JsonElement obj, string name, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new BadRequestException(path + name, $"'{path}{name}' must be an integer.", "invalid_type");
    }

    public static JsonElement? Object(JsonElement obj, string name, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object
            ? value
            : throw new BadRequestException(path + name, $"'{path}{name}' must be an object.", "invalid_type");
    }

    public static IReadOnlyList<string>? StringArray(JsonElement obj, string name, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            throw new BadRequestException(path + name, $"'{path}{name}' must be an array of strings.", "invalid_type");
        }

        return value.EnumerateArray().Select(v => v.GetString()!).ToArray();
    }
}
