using System.CommandLine;
using DeepDeploy.Cli;
using DeepDeploy.Cli.Commands;

var root = new RootCommand("deepctl: DeepDeploy from the command line, on its public HTTP API. Exit codes: 0 ok, 1 API refused, "
    + "2 usage, 3 auth, 4 not found, 5 server or connection, 6 deployment failed.")
{
    Shared.Json,
    Shared.Host,
    AuthCommands.Build(),
    DeployCommands.Build(),
    ChatCommands.Chat(),
    ChatCommands.Infer(),
    BillingCommands.Build(),
    GpusCommand.Build(),
    AdminCommands.Build(),
    CompletionCommand.Build(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"See `deepctl {string.Join(' ', CommandPath(parse.CommandResult.Command, root))} --help`.".Replace("  ", " "));
    return ExitCodes.Usage;
}

return await parse.InvokeAsync();

static IEnumerable<string> CommandPath(Command command, RootCommand root) =>
    command == root ? [] : command.Parents.OfType<Command>().SelectMany(p => CommandPath(p, root)).Append(command.Name);
