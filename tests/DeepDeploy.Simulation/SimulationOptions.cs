namespace DeepDeploy.Simulation;

/// <summary>One simulation run's parameters (the command line's flags; docs/simulation.md lists them).</summary>
public sealed class SimulationOptions
{
    public short Silos { get; init; } = 4;

    public int Nodes { get; init; } = 20;

    public int GpusPerNode { get; init; } = 8;

    /// <summary>GPU types of the nodes, in turn; deployments ask for these.</summary>
    public IReadOnlyList<string> GpuTypes { get; init; } = ["H100-80GB"];

    public int Deployments { get; init; } = 50;

    /// <summary>Owners of the deployments (deployment i belongs to user i % Users).</summary>
    public int Users { get; init; } = 10;

    /// <summary>Each user's GPU limit.</summary>
    public int UserGpuLimit { get; init; } = 32;

    public int Gateways { get; init; } = 2;

    /// <summary>Simulated minutes of workload.</summary>
    public double Minutes { get; init; } = 2;

    /// <summary>Simulated seconds per real second (see <see cref="SimClock"/>).</summary>
    public double Compression { get; init; } = 10;

    /// <summary>Synthetic workload: requests per simulated second over all deployments; null: 0.2 per deployment.</summary>
    public double? Rate { get; init; }

    /// <summary>Replay this CSV trace instead of the synthetic workload.</summary>
    public string? Trace { get; init; }

    /// <summary>A JSON latency model laid over the defaults.</summary>
    public string? LatencyModel { get; init; }

    /// <summary>Grain state and reminders in memory (default) or in SQLite as the embedded mode keeps them.</summary>
    public bool InMemoryStorage { get; init; } = true;

    /// <summary>Nodes report to the registry every second, as real ones do.</summary>
    public bool Heartbeats { get; init; } = true;

    /// <summary>Simulated seconds between samples of the cluster's state.</summary>
    public double SampleSeconds { get; init; } = 5;

    public int Seed { get; init; } = 1;

    /// <summary>Where the summary and charts go; null: none written.</summary>
    public string? Out { get; init; }
}
