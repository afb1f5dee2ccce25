using System.Globalization;
using System.Text.Json;

namespace DeepDeploy.Gateway.WebConsole.Components.Shared;

/// <summary>Reading the API's JSON answers in pages: absent or null values read as empty, never throw.</summary>
public static class Json
{
    public static string Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString() ?? "",
                JsonValueKind.Number => v.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => "",
            }
            : "";

    public static JsonElement Obj(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    public static int Int(this JsonElement e, string name) =>
        e.Obj(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var i) ? i : 0;

    public static long Long(this JsonElement e, string name) =>
        e.Obj(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var i) ? i : 0;

    public static decimal Dec(this JsonElement e, string name) =>
        e.Obj(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetDecimal(out var d) ? d : 0m;

    public static bool Bool(this JsonElement e, string name) => e.Obj(name).ValueKind == JsonValueKind.True;

    public static IEnumerable<JsonElement> Items(this JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : [];

    public static string Time(this JsonElement e, string name) =>
        DateTimeOffset.TryParse(e.Str(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)
            : "";
}
