using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>The engine for a launch's weights format: GGUF runs on the built-in worker (or the
/// <see cref="NodeOptions.GgufEngine"/> profile), safetensors on the first profile that takes it.</summary>
public static class EngineSelection
{
    /// <summary>The engine's name (for logs) and profile; a null profile is the built-in worker.</summary>
    public static (string Name, EngineProfile? Profile) Select(NodeOptions options, InstanceLaunch launch)
    {
        if (launch.WeightsFormat == WeightsFormats.Gguf && options.GgufEngine is null)
        {
            return ("builtin", null);
        }

        if (launch.WeightsFormat == WeightsFormats.Gguf)
        {
            return options.Engines.TryGetValue(options.GgufEngine!, out var gguf)
                ? (options.GgufEngine!, gguf)
                : throw new InvalidOperationException($"node {options.Name}: GgufEngine '{options.GgufEngine}' names no engine profile (DeepDeploy:Node:Engines)");
        }

        var profile = options.Engines.OrderBy(e => e.Key, StringComparer.Ordinal).FirstOrDefault(e => e.Value.Takes(launch.WeightsFormat));
        return profile.Value is not null
            ? (profile.Key, profile.Value)
            : throw new InvalidOperationException(
                $"no engine on node {options.Name} takes {launch.WeightsFormat} weights; configure an engine profile (DeepDeploy:Node:Engines:<name>, e.g. vLLM)");
    }
}
