using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepDeploy.Gateway.Events;

/// <summary>How events and log lines are written: snake case, enums in snake case, fields that do not apply left out.</summary>
public static class EventJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
