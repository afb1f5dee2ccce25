namespace DeepDeploy.Tests.EndToEnd;

/// <summary>Tests that start the whole system run one at a time: each owns ports and worker processes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SystemCollection
{
    public const string Name = "system";
}
