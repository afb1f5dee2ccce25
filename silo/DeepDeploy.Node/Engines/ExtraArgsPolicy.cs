namespace DeepDeploy.Node.Engines;

/// <summary>What a deployment's <c>extra_args</c> may hold for an external engine: only flags its profile lists in
/// <see cref="EngineProfile.AllowedArgs"/> (<c>--flag</c>, <c>--flag value</c> or <c>--flag=value</c>). Anything
/// else, <c>--trust-remote-code</c> or a positional argument, could turn a tenant's setting into code execution.</summary>
public static class ExtraArgsPolicy
{
    /// <summary>Throws, naming the first argument the profile does not allow; the instance fails with that reason
    /// before any download.</summary>
    public static void Ensure(string engineName, EngineProfile profile, IReadOnlyList<string> extraArgs)
    {
        var valueAllowed = false;
        foreach (var argument in extraArgs)
        {
            if (!argument.StartsWith('-'))
            {
                // A value only right after an allowed flag; never a positional argument of its own.
                if (!valueAllowed)
                {
                    throw Refused(engineName, profile, argument);
                }

                valueAllowed = false;
                continue;
            }

            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            var flag = equals < 0 ? argument : argument[..equals];
            if (!profile.AllowedArgs.Contains(flag, StringComparer.Ordinal))
            {
                throw Refused(engineName, profile, flag);
            }

            valueAllowed = equals < 0;
        }
    }

    static InvalidOperationException Refused(string engineName, EngineProfile profile, string argument) => new(
        $"extra_args: '{argument}' is not allowed by engine profile '{engineName}' (AllowedArgs: "
        + (profile.AllowedArgs.Count == 0 ? "none" : string.Join(", ", profile.AllowedArgs)) + ")");
}
