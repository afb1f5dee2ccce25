namespace DeepDeploy.Contracts.Nodes;

/// <summary>What the GPU nodes of one silo hold, saved apart from the registry (key: <see cref="KeyOf"/> the silo).
/// When that silo dies this record is read to wake the deployments that had instances there, and a registry that comes
/// up reads the live silos' records to know every node at once: the registry's view is soft state and may have died on
/// the same silo.</summary>
public interface ISiloNodesGrain : IGrainWithStringKey
{
    static string KeyOf(SiloAddress silo) => silo.ToParsableString();

    /// <summary>The deployments with instances on <paramref name="node"/> now; saved only when they changed.</summary>
    Task Set(string node, IReadOnlyList<string> deployments);

    /// <summary>The nodes of this silo that registered: a registry that comes up asks each for its capacity.</summary>
    Task<IReadOnlyList<string>> Nodes();

    /// <summary>Deployments with instances on any of this silo's nodes.</summary>
    Task<IReadOnlyList<string>> Deployments();

    /// <summary>The silo is gone and its deployments were woken: the record is dropped from storage.</summary>
    Task Forget();
}
