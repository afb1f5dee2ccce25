using System.Diagnostics;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>One engine instance on this host: its launch, its OS process once started, and its output.</summary>
public sealed class EngineInstance(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
{
    readonly CancellationTokenSource _stop = new();

    public InstanceLaunch Launch { get; } = launch;

    public IReadOnlyList<int> GpuIndices { get; } = gpuIndices;

    public OutputTail Output { get; } = new();

    public Process? Process { get; set; }

    /// <summary>The external engine profile that runs it, or null for the built-in worker.</summary>
    public EngineProfile? Profile { get; set; }

    /// <summary>Name of <see cref="Profile"/> (for logs), "builtin" for the built-in worker.</summary>
    public string EngineName { get; set; } = "builtin";

    public string HealthPath => Profile?.HealthPath ?? "/health";

    /// <summary>The port the node gave an external engine, held until the instance ends; null for the built-in worker.</summary>
    public int? Port { get; set; }

    /// <summary>The engine's base URL once it listens.</summary>
    public string? Endpoint { get; set; }

    public bool Stopping => _stop.IsCancellationRequested;

    /// <summary>Cancelled when a stop is asked: ends the download or the wait for health.</summary>
    public CancellationToken StopToken => _stop.Token;

    public void RequestStop()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
