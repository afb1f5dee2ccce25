using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>The engine for a launch's weights format: GGUF runs on the built-in worker (or the
/// <see cref="NodeOptions.GgufEngine"/> profile), safetensors on the first profile that takes it.</summary>
public static class EngineSelection
{
    /// <summary>The engine's name (for logs) and profile; a null profile is the built-in worker.</summary>
    public static (string Name, EngineProfile? Profile) Select(NodeOptions options, InstanceLaunch launch) => Select(options, launch.WeightsFormat);

    /// <summary>What the node advertises when it registers: per engine, the formats it runs here and its AllowedArgs.</summary>
    public static IReadOnlyList<NodeEngine> Advertised(NodeOptions options) =>
        new[] { WeightsFormats.Gguf, WeightsFormats.Safetensors }
            .Select(format => (Format: format, Engine: TrySelect(options, format)))
            .Where(e => e.Engine is not null)
            .GroupBy(e => e.Engine!.Value.Name, StringComparer.Ordinal)
            .Select(g => new NodeEngine(g.Key, g.Select(e => e.Format).ToArray(), g.First().Engine!.Value.Profile?.AllowedArgs.ToArray() ?? []))
            .ToArray();

    static (string Name, EngineProfile? Profile)? TrySelect(NodeOptions options, string format)
    {
        try
        {
            return Select(options, format);
        }
        catch (InvalidOperationException)
        {
            // No engine for this format here: the node does not advertise one.
            return null;
        }
    }

    static (string Name, EngineProfile? Profile) Select(NodeOptions options, string format)
    {
        if (format == WeightsFormats.Gguf && options.GgufEngine is null)
        {
            return ("builtin", null);
        }

        if (format == WeightsFormats.Gguf)
        {
            return options.Engines.TryGetValue(options.GgufEngine!, out var gguf)
                ? (options.GgufEngine!, gguf)
                : throw new InvalidOperationException($"node {options.Name}: GgufEngine '{options.GgufEngine}' names no engine profile (DeepDeploy:Node:Engines)");
        }

        var profile = options.Engines.OrderBy(e => e.Key, StringComparer.Ordinal).FirstOrDefault(e => e.Value.Takes(format));
        return profile.Value is not null
            ? (profile.Key, profile.Value)
            : throw new InvalidOperationException(
                $"no engine on node {options.Name} takes {format} weights; configure an engine profile (DeepDeploy:Node:Engines:<name>, e.g. vLLM)");
    }
}
