using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Cluster;

/// <summary>The shape of a <see cref="SimulatedCluster"/>: silos, the GPU nodes spread over them, their GPUs.</summary>
public sealed class SimulatedClusterOptions
{
    public short Silos { get; init; } = 1;

    /// <summary>GPU nodes; equal to <see cref="Silos"/> means one node per silo, named after it.</summary>
    public int Nodes { get; init; } = 1;

    public int GpusPerNode { get; init; } = SimulatedCluster.GpusPerNode;

    /// <summary>The GPU type of node i is <c>GpuTypes[i % count]</c>.</summary>
    public IReadOnlyList<string> GpuTypes { get; init; } = [SimulatedCluster.Gpu];

    /// <summary>Null: instances start in <see cref="SimulatedNodeAgent.StartDelay"/> and serve nothing.</summary>
    public NodeSimulation? Simulation { get; init; }

    /// <summary>Grain state and reminders in memory instead of SQLite: a simulation at scale measures the grains, not
    /// one SQLite file shared by every silo of one process.</summary>
    public bool InMemoryStorage { get; init; }

    /// <summary>An Npgsql connection string: grain state and reminders in that PostgreSQL database (its schema created at
    /// start) instead of the SQLite file, as production keeps them; many writers at once where SQLite takes one.
    /// Clustering stays the TestingHost's.</summary>
    public string? Postgres { get; init; }

    public Action<AutoscalerOptions>? Autoscaler { get; init; }

    /// <summary>More silo configuration, applied last.</summary>
    public Action<ISiloBuilder>? Silo { get; init; }

    public Action<IClientBuilder>? Client { get; init; }
}
