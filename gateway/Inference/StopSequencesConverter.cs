using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Reads <c>stop</c> as DeepInfra accepts it: one string, or an array of strings.</summary>
public sealed class StopSequencesConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException();
        }

        var stops = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            stops.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException());
        }

        return stops;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var stop in value)
        {
            writer.WriteStringValue(stop);
        }

        writer.WriteEndArray();
    }
}
