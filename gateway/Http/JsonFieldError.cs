using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DeepDeploy.Gateway.Http;

/// <summary>
/// Turns the binder's <see cref="JsonException"/> on a syntactically valid body into the API's 400: its
/// <c>Path</c> (<c>$.hf.foo</c>, <c>$.extra_args[0]</c>) names the field, and the request record's metadata tells
/// a name it does not know (<c>unknown_field</c>, listing the known ones) from a value of the wrong JSON type
/// (<c>invalid_type</c>, saying the one expected).
/// </summary>
public static class JsonFieldError
{
    public static BadRequestException From(JsonException error, JsonTypeInfo root)
    {
        var segments = Segments(error.Path ?? "$");
        if (segments.Count == 0)
        {
            return new BadRequestException("body", "The body must be a JSON object.", "invalid_json");
        }

        var owner = root;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var step = Find(owner, segments[i]);
            if (step is null || owner.Options.GetTypeInfo(step.PropertyType) is not { } next)
            {
                break;
            }

            owner = next;
        }

        var field = string.Join('.', segments);
        var property = Find(owner, segments[^1]);
        if (property is null)
        {
            var known = string.Join(", ", owner.Properties.Select(p => p.Name));
            return new BadRequestException(field, $"Unknown field '{field}'. Known fields: {known}.", "unknown_field");
        }

        return new BadRequestException(field, $"'{field}' must be {Expected(property.PropertyType)}.", "invalid_type");
    }

    static JsonPropertyInfo? Find(JsonTypeInfo owner, string name) =>
        owner.Kind == JsonTypeInfoKind.Object ? owner.Properties.FirstOrDefault(p => p.Name == name) : null;

    static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) ? "a string"
            : type == typeof(int) || type == typeof(long) ? "an integer"
            : type == typeof(double) || type == typeof(decimal) ? "a number"
            : type == typeof(bool) ? "true or false"
            : type == typeof(IReadOnlyList<string>) ? "an array of strings"
            : "an object";
    }

    /// <summary>The property names along a JSON path, array indices left out: <c>$.a['b c'][0].d</c> → a, b c, d.</summary>
    static List<string> Segments(string path)
    {
        var segments = new List<string>();
        var name = new StringBuilder();
        for (var i = 1; i < path.Length; i++)
        {
            switch (path[i])
            {
                case '.':
                    Flush();
                    break;
                case '[' when i + 1 < path.Length && path[i + 1] == '\'':
                    Flush();
                    var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                    end = end < 0 ? path.Length : end;
                    segments.Add(path[(i + 2)..end]);
                    i = end + 1;
                    break;
                case '[':
                    Flush();
                    var close = path.IndexOf(']', i);
                    i = close < 0 ? path.Length : close;
                    break;
                default:
                    name.Append(path[i]);
                    break;
            }
        }

        Flush();
        return segments;

        void Flush()
        {
            if (name.Length > 0)
            {
                segments.Add(name.ToString());
                name.Clear();
            }
        }
    }
}
