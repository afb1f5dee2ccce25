using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DeepDeploy.Cli.Output;

/// <summary>Where deepctl writes: results on stdout (tables for people, the API's JSON with <c>--json</c>), progress,
/// prompts and errors on stderr, so a script's stdout holds only the result.</summary>
public static class Out
{
    public static IAnsiConsole Stdout { get; } = Sized(AnsiConsole.Console);

    public static IAnsiConsole Stderr { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>Redirected output has no window: the width is COLUMNS, else wide enough that rows never wrap (for grep and awk).</summary>
    static IAnsiConsole Sized(IAnsiConsole console)
    {
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 1000;
        }

        return console;
    }

    /// <summary>True when stderr is a terminal: live displays and prompts, else plain lines.</summary>
    public static bool Interactive => !Console.IsErrorRedirected && Stderr.Profile.Capabilities.Interactive;

    /// <summary>One JSON document per line, as the API gave it (compact), so scripts can use jq line by line.</summary>
    public static void Json(JsonElement value)
    {
        Console.Out.WriteLine(value.ValueKind == JsonValueKind.Undefined ? "null" : value.GetRawText());
        Console.Out.Flush();
    }

    public static void Error(string message) => Console.Error.WriteLine($"error: {Safe(message)}");

    public static void Line(string message) => Console.Out.WriteLine(Safe(message));

    public static void Note(string message) => Console.Error.WriteLine(Safe(message));

    /// <summary>Text from the server with control characters (terminal escape sequences) made visible, not obeyed.</summary>
    public static string Safe(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        StringBuilder? safe = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) && c is not '\n' and not '\t')
            {
                safe ??= new StringBuilder(text, 0, i, text.Length + 8);
                safe.Append('?');
            }
            else
            {
                safe?.Append(c);
            }
        }

        return safe?.ToString() ?? text;
    }

    /// <summary>A table cell that shows the text as is (no Spectre markup is read from server data).</summary>
    public static IRenderable Cell(string? text) => new Text(Safe(text));

    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.None);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column, new Style(decoration: Decoration.Bold))));
        }

        return table;
    }

    public static string Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString() ?? "",
                JsonValueKind.Null or JsonValueKind.Undefined => "",
                _ => v.GetRawText(),
            }
            : "";

    public static JsonElement Obj(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    public static IEnumerable<JsonElement> Items(this JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : [];

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.0} KiB",
        _ => $"{bytes} B",
    };
}
