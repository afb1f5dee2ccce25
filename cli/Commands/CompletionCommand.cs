using System.CommandLine;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>completion bash|zsh</c>: a script for the shell that asks deepctl itself (System.CommandLine's
/// <c>[suggest]</c> directive) for the words that fit where the cursor is, so completion never lags the commands.</summary>
public static class CompletionCommand
{
    const string Bash = """
        # deepctl completion for bash: eval "$(deepctl completion bash)"
        _deepctl_complete()
        {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$(deepctl "[suggest:${#COMP_LINE}]" "$COMP_LINE" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _deepctl_complete deepctl

        """;

    const string Zsh = """
        # deepctl completion for zsh: eval "$(deepctl completion zsh)"
        _deepctl_complete()
        {
            local -a words
            words=("${(@f)$(deepctl "[suggest:${#BUFFER}]" "$BUFFER" 2>/dev/null)}")
            compadd -- $words
        }
        compdef _deepctl_complete deepctl

        """;

    public static Command Build()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script: eval \"$(deepctl completion bash)\"") { shell };
        command.SetAction(parse =>
        {
            Console.Out.Write(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
