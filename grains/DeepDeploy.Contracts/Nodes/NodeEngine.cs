namespace DeepDeploy.Contracts.Nodes;

/// <summary>An engine a node runs, as it advertises it when it registers: the weights formats it runs there and the
/// flags a deployment's <c>extra_args</c> may set (its profile's AllowedArgs; none for the built-in worker, which
/// ignores them). Lets the control plane refuse flags at create that no node would run.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeEngine(
    [property: Id(0)] string Name,
    [property: Id(1)] IReadOnlyList<string> Formats,
    [property: Id(2)] IReadOnlyList<string> AllowedArgs);
