using System.Diagnostics;
using System.Security.Cryptography;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>One engine instance on this host: its launch, its OS process once started, and its output.</summary>
public sealed class EngineInstance
{
    readonly CancellationTokenSource _stop = new();

    public EngineInstance(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
    {
        Launch = launch;
        GpuIndices = gpuIndices;
        Output = new OutputTail(mask: Secret);
    }

    public InstanceLaunch Launch { get; }

    public IReadOnlyList<int> GpuIndices { get; }

    /// <summary>What the engine demands of every inference request (256 random bits, hex): only the gateways,
    /// which get it inside the route, know it. Kept across restarts of the process.</summary>
    public string Secret { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Shown to the deployment's owner by /logs: the secret is masked (the node's own command line
    /// and engines that print their arguments would show it).</summary>
    public OutputTail Output { get; }

    public Process? Process { get; set; }

    /// <summary>The node agent's run of this instance: it ends once the process is gone and its end was reported.</summary>
    public Task Run { get; set; } = Task.CompletedTask;

    /// <summary>The external engine profile that runs it, or null for the built-in worker.</summary>
    public EngineProfile? Profile { get; set; }

    /// <summary>Name of <see cref="Profile"/> (for logs), "builtin" for the built-in worker.</summary>
    public string EngineName { get; set; } = "builtin";

    public string HealthPath => Profile?.HealthPath ?? "/health";

    /// <summary>The port the node gave an external engine, held until the instance ends; null for the built-in worker.</summary>
    public int? Port { get; set; }

    /// <summary>The OS user the engine runs as, held until the instance ends; null when engines run as the node's user.</summary>
    public EngineUser? User { get; set; }

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
