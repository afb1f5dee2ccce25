using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Cli.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DeepDeploy.Cli.Commands;

/// <summary>A deployment file, YAML or JSON, as the JSON body of <c>POST /deploy/llm</c>. Fields are passed on as
/// written, so the API (not deepctl) judges them and a typo is refused by name.</summary>
public static class DeployFile
{
    static readonly JsonDocumentOptions Lenient = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    public static JsonObject Read(string path)
    {
        string text;
        try
        {
            text = path == "-" ? Shared.ReadStdin("the deployment file") : File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ApiException(ExitCodes.Usage, $"cannot read {path}: {e.Message}");
        }

        return Parse(text, path);
    }

    public static JsonObject Parse(string text, string name)
    {
        JsonNode? node;
        try
        {
            node = text.TrimStart().StartsWith('{') ? JsonNode.Parse(text, documentOptions: Lenient) : FromYaml(text);
        }
        catch (Exception e) when (e is JsonException or YamlException or ArgumentException)
        {
            throw new ApiException(ExitCodes.Usage, $"{name} is neither valid JSON nor valid YAML: {e.Message}");
        }

        return node as JsonObject ?? throw new ApiException(ExitCodes.Usage, $"{name} must hold one mapping (the body of POST /deploy/llm)");
    }

    static JsonNode? FromYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    /// <summary>YAML 1.2 core schema: plain scalars that read as numbers, booleans or null become those; quoted ones stay strings.</summary>
    static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(c.Key is YamlScalarNode key ? key.Value ?? "" : throw NotScalarKey(), Convert(c.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(Convert).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => Plain(scalar.Value),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new ApiException(ExitCodes.Usage, "unsupported YAML node (anchors and aliases are not supported)"),
    };

    static ApiException NotScalarKey() => new(ExitCodes.Usage, "mapping keys must be plain names");

    static JsonNode? Plain(string? value) => value switch
    {
        null or "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => JsonValue.Create(true),
        "false" or "False" or "FALSE" => JsonValue.Create(false),
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) => JsonValue.Create(whole),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => JsonValue.Create(real),
        _ => JsonValue.Create(value),
    };
}
