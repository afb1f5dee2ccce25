using System.Text.Json;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>One answer of the public API, as the console got it: the status and the JSON body (or an error).</summary>
public sealed record ApiAnswer(int Status, JsonElement Body)
{
    /// <summary>Before a page's data arrives: the renderer draws once while the page awaits the API.</summary>
    public static ApiAnswer None { get; } = new(200, default);

    public bool Ok => Status is >= 200 and < 300;

    /// <summary>The API's own error message, shown as is.</summary>
    public string? ErrorMessage => Ok ? null : Error("message") ?? $"The API answered {Status}.";

    /// <summary>The field the API named as at fault, to show the message beside it.</summary>
    public string? ErrorField => Ok ? null : Error("field");

    string? Error(string name) =>
        Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object
            && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
