using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>What a deployment's <c>extra_args</c> may hold for an external engine: only flags its profile lists in
/// <see cref="EngineProfile.AllowedArgs"/> (<c>--flag</c>, <c>--flag value</c> or <c>--flag=value</c>). Anything
/// else, <c>--trust-remote-code</c> or a positional argument, could turn a tenant's setting into code execution. The control
/// plane applies the same <see cref="ExtraArgsRule"/> at create to the engines nodes advertise; this is the check in depth.</summary>
public static class ExtraArgsPolicy
{
    /// <summary>Throws, naming the first argument the profile does not allow; the instance fails with that reason
    /// before any download.</summary>
    public static void Ensure(string engineName, EngineProfile profile, IReadOnlyList<string> extraArgs)
    {
        var refused = ExtraArgsRule.FirstRefused(profile.AllowedArgs, extraArgs);
        if (refused >= 0)
        {
            throw Refused(engineName, profile, ExtraArgsRule.Named(extraArgs[refused]));
        }
    }

    static InvalidOperationException Refused(string engineName, EngineProfile profile, string argument) => new(
        $"extra_args: '{argument}' is not allowed by engine profile '{engineName}' (AllowedArgs: "
        + (profile.AllowedArgs.Count == 0 ? "none" : string.Join(", ", profile.AllowedArgs)) + ")");
}
