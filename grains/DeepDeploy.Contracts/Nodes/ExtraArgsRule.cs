namespace DeepDeploy.Contracts.Nodes;

/// <summary>The one reading of <c>extra_args</c> against an allow-list of flags, shared by the control plane (at
/// create) and the node (at launch): each entry is an allowed <c>--flag</c>, <c>--flag=value</c>, or a value right
/// after an allowed <c>--flag</c>. Anything else, a positional argument or an unlisted flag, is refused.</summary>
public static class ExtraArgsRule
{
    /// <summary>The index of the first argument the allow-list does not admit; -1 when all pass.</summary>
    public static int FirstRefused(IReadOnlyCollection<string> allowed, IReadOnlyList<string> extraArgs)
    {
        var valueAllowed = false;
        for (var i = 0; i < extraArgs.Count; i++)
        {
            var argument = extraArgs[i];
            if (!argument.StartsWith('-'))
            {
                // A value only right after an allowed flag; never a positional argument of its own.
                if (!valueAllowed)
                {
                    return i;
                }

                valueAllowed = false;
                continue;
            }

            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            if (!allowed.Contains(Named(argument), StringComparer.Ordinal))
            {
                return i;
            }

            valueAllowed = equals < 0;
        }

        return -1;
    }

    /// <summary>What a refusal names: the flag without its <c>=value</c>, or a positional argument as it is.</summary>
    public static string Named(string argument)
    {
        var equals = argument.IndexOf('=', StringComparison.Ordinal);
        return argument.StartsWith('-') && equals >= 0 ? argument[..equals] : argument;
    }
}
