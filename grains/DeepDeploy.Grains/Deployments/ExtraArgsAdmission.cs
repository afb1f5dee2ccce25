using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Whether a deployment's <c>extra_args</c> can run anywhere: some engine of a node with its GPU type (of any
/// node while none has that type yet) must allow all of them. The weights format is not known before the weights are
/// resolved, so every engine of those nodes counts; the node checks again at launch with the engine it picks.</summary>
public static class ExtraArgsAdmission
{
    public static DeploymentError? Refuse(ClusterCapacity capacity, DeploymentSpec spec)
    {
        if (spec.ExtraArgs.Count == 0)
        {
            return null;
        }

        var nodes = capacity.Nodes.Where(n => n.Total.GetValueOrDefault(spec.Gpu) > 0).ToList();
        if (nodes.Count == 0)
        {
            nodes = capacity.Nodes.ToList();
        }

        if (nodes.Count == 0 || nodes.Any(n => n.Engines is null))
        {
            // Nothing known to check against (no node yet, or one that does not advertise its engines): the launch decides.
            return null;
        }

        var engines = nodes.SelectMany(n => n.Engines!).ToList();
        var furthest = 0;
        foreach (var engine in engines)
        {
            var refused = ExtraArgsRule.FirstRefused(engine.AllowedArgs, spec.ExtraArgs);
            if (refused < 0)
            {
                return null;
            }

            furthest = Math.Max(furthest, refused);
        }

        // The argument that even the most permissive engine stops at.
        var allowed = engines.SelectMany(e => e.AllowedArgs).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new DeploymentError(DeploymentErrorKind.Invalid, "extra_args_not_allowed",
            $"extra_args: '{ExtraArgsRule.Named(spec.ExtraArgs[furthest])}' is not allowed by any engine of the nodes that run {spec.Gpu} "
            + $"(allowed flags: {(allowed.Count == 0 ? "none" : string.Join(", ", allowed))}).",
            "extra_args");
    }
}
