using System.CommandLine;
using System.Text.Json;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Config;
using DeepDeploy.Cli.Output;

namespace DeepDeploy.Cli.Commands;

/// <summary>What every command shares: the global options, the API client they resolve to, and one place that turns
/// failures into a message on stderr and an exit code.</summary>
public static class Shared
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the API's JSON (one document per line) instead of tables",
        Recursive = true,
    };

    public static readonly Option<string?> Host = new("--host")
    {
        Description = "API base URL (default: DEEPDEPLOY_HOST, then ~/.deepdeploy/config, then " + Connection.DefaultHost + ")",
        Recursive = true,
    };

    public static ApiClient Client(ParseResult parse, bool requireToken = true) =>
        new(Connection.Resolve(parse.GetValue(Host)), requireToken);

    public static bool WantsJson(ParseResult parse) => parse.GetValue(Json);

    /// <summary>Sets the command's action; an <see cref="ApiException"/> becomes its message and exit code.</summary>
    public static Command Runs(this Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await action(parse, ct);
            }
            catch (ApiException e)
            {
                var detail = (e.Code, e.Field) switch
                {
                    (null, null) => "",
                    (not null, null) => $" ({e.Code})",
                    (null, not null) => $" (field: {e.Field})",
                    _ => $" ({e.Code}, field: {e.Field})",
                };
                Out.Error(e.Message + detail);
                if (e.Code == "unauthorized")
                {
                    Out.Note("The server refused the token: sign in again with `deepctl auth login`, or check DEEPDEPLOY_TOKEN.");
                }

                return e.ExitCode;
            }
        });
        return command;
    }

    /// <summary>Prints the answer: its JSON with <c>--json</c>, else what <paramref name="human"/> makes of it.</summary>
    public static int Print(ParseResult parse, JsonElement answer, Action<JsonElement> human)
    {
        if (WantsJson(parse))
        {
            Out.Json(answer);
        }
        else
        {
            human(answer);
        }

        return ExitCodes.Ok;
    }

    public static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }

    /// <summary>Reads all of stdin, or refuses when it is a terminal and <paramref name="what"/> had to come from it.</summary>
    public static string ReadStdin(string what)
    {
        if (!Console.IsInputRedirected)
        {
            throw new ApiException(ExitCodes.Usage, $"give {what} as an argument or on stdin");
        }

        return Console.In.ReadToEnd();
    }
}
