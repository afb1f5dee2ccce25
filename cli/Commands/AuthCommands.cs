using System.CommandLine;
using System.Text.Json;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Config;
using DeepDeploy.Cli.Output;
using Spectre.Console;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>auth login|logout|whoami</c>. The token is read from a hidden prompt or stdin, never from argv (where
/// every local user could read it), and never printed.</summary>
public static class AuthCommands
{
    public static Command Build()
    {
        var login = new Command("login", "Save a token for the host (read from a hidden prompt, or the first line of stdin)")
            .Runs(LoginAsync);
        var logout = new Command("logout", "Forget the saved token").Runs((_, _) => Task.FromResult(Logout()));
        var whoami = new Command("whoami", "Who the token belongs to, and the account's limits").Runs(WhoAmIAsync);
        return new Command("auth", "Sign in and out") { login, logout, whoami };
    }

    static async Task<int> LoginAsync(ParseResult parse, CancellationToken ct)
    {
        var target = Connection.Resolve(parse.GetValue(Shared.Host));
        var token = ReadToken(target.Host);
        using var client = new ApiClient(target with { Token = token });
        var (name, _) = await IdentifyAsync(client, ct);
        new CliConfig(target.Host.ToString(), token).Save();
        Out.Note($"Signed in to {target.Host} as {name}; token saved in {CliConfig.FilePath} (mode 0600).");
        return ExitCodes.Ok;
    }

    static int Logout()
    {
        var config = CliConfig.Load();
        if (config.Token is null)
        {
            Out.Note("No token was saved.");
            return ExitCodes.Ok;
        }

        (config with { Token = null }).Save();
        Out.Note($"Signed out: the token is removed from {CliConfig.FilePath}.");
        return ExitCodes.Ok;
    }

    static async Task<int> WhoAmIAsync(ParseResult parse, CancellationToken ct)
    {
        using var client = Shared.Client(parse);
        var (name, me) = await IdentifyAsync(client, ct);
        return Shared.Print(parse, me, _ =>
        {
            Out.Line($"{name} on {client.Host}");
            if (me.Str("gpu_limit").Length > 0)
            {
                var table = Out.Table("limit", "value", "in use");
                table.AddRow(Out.Cell("gpu_limit"), Out.Cell(me.Str("gpu_limit")), Out.Cell(me.Str("gpus_reserved")));
                table.AddRow(Out.Cell("max_deployments"), Out.Cell(me.Str("max_deployments")), Out.Cell(me.Str("live_deployments")));
                foreach (var limit in new[] { "max_concurrent_requests", "max_request_bytes", "max_cold_start_requests" })
                {
                    table.AddRow(Out.Cell(limit), Out.Cell(me.Str(limit)), Out.Cell(""));
                }

                Out.Stdout.Write(table);
            }
        });
    }

    /// <summary>A user's account (<c>GET /v1/me</c>), or the operator (to whom that call is forbidden but the user
    /// listing is not).</summary>
    public static async Task<(string Name, JsonElement Me)> IdentifyAsync(ApiClient client, CancellationToken ct)
    {
        try
        {
            var me = await client.GetAsync("v1/me", ct);
            return (me.Str("name"), me);
        }
        catch (ApiException e) when (e.Code == "forbidden")
        {
            await client.GetAsync("admin/users", ct);
            return ("operator", JsonSerializer.SerializeToElement(new { name = "operator", role = "operator" }));
        }
    }

    static string ReadToken(Uri host)
    {
        string? token;
        if (Console.IsInputRedirected)
        {
            token = Console.In.ReadLine();
        }
        else
        {
            token = Out.Stderr.Prompt(new TextPrompt<string>($"API token for {Markup.Escape(host.ToString())}:").Secret());
        }

        token = token?.Trim();
        if (string.IsNullOrEmpty(token) || token.Any(c => c <= ' ' || c > '~'))
        {
            throw new ApiException(ExitCodes.Usage, "no token read: give it at the prompt or as the first line of stdin (printable ASCII)");
        }

        return token;
    }
}
