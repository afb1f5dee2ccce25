using DeepDeploy.Node.Engines;

namespace DeepDeploy.Node;

/// <summary>Settings of the GPU node this silo hosts (section DeepDeploy:Node).</summary>
public sealed class NodeOptions
{
    /// <summary>The node's name; one GpuNode grain per name. Default: the machine name.</summary>
    public string Name { get; set; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>Where nodes keep their model cache, pid files and engines' working directories (DeepDeploy:Node:Directory).
    /// Default: <c>&lt;data directory&gt;/nodes</c>, or <see cref="NodePaths.SharedNodesDirectory"/> for a root node
    /// whose data directory engines could not reach (see <see cref="NodePaths.NodesDirectoryFor"/>).</summary>
    public string? Directory { get; set; }

    /// <summary>GPUs to simulate where there is no nvidia-smi, e.g. "4xA100-80GB,4xH100-80GB". When set
    /// explicitly it is used even on a GPU host (a test double for a GPU: workers run on CPU).</summary>
    public string? SimulatedGpus { get; set; }

    /// <summary>Where the host's build puts the worker: its own folder, with its own dependencies (LLamaSharp).</summary>
    public static string DefaultWorkerPath => Path.Combine(AppContext.BaseDirectory, "worker", "DeepDeploy.GpuWorker.dll");

    /// <summary>Path of DeepDeploy.GpuWorker.dll; default: <see cref="DefaultWorkerPath"/>.</summary>
    public string WorkerPath { get; set; } = DefaultWorkerPath;

    /// <summary>The IP address engine processes listen on, and so the endpoint gateways forward to. The default,
    /// loopback, suits a gateway on the same host (all-in-one); with separate gateways it must be an address
    /// they reach, e.g. the pod's IP (POD_IP) in Kubernetes.</summary>
    public string WorkerHost { get; set; } = "127.0.0.1";

    /// <summary>Extra arguments for every worker this node starts, separated by spaces; e.g.
    /// "--engine fake --fake-token-rate 200" runs the worker's test-double engine (benchmarks, simulations).</summary>
    public string? WorkerArgs { get; set; }

    /// <summary>CPU threads per simulated instance's engine.</summary>
    public int WorkerThreads { get; set; } = 1;

    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Restarts in place after a crash or failed health checks before the instance is failed.</summary>
    public int MaxRestarts { get; set; } = 3;

    /// <summary>First restart delay; doubled at each restart up to <see cref="MaxRestartBackoff"/>.</summary>
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An engine that served this long before crashing starts its restart count afresh.</summary>
    public TimeSpan HealthyRunResetsRestarts { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan HealthInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Failed health checks in a row after which the engine is killed (and restarted).</summary>
    public int HealthFailures { get; set; } = 3;

    /// <summary>Size limit of the node's model cache in bytes (blobs, finished and partial); null: derived from free disk
    /// (<see cref="Weights.WeightsOptions.DefaultCacheShare"/>). Before a
    /// download, revisions no running instance uses are evicted least recently used first until the new bytes fit.</summary>
    public long? CacheLimitBytes { get; set; }

    /// <summary>How often the node reports to the node registry (its heartbeat; see <see cref="NodeHeartbeat"/>).</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Reports in a row the node may miss before its lease expires (lease = this × <see cref="ReportInterval"/>):
    /// its instances are then placed elsewhere and, if it comes back, it stops its engines and registers again.</summary>
    public int LeaseMissedReports { get; set; } = 4;

    public TimeSpan Lease => ReportInterval * LeaseMissedReports;

    /// <summary>How often a downloading instance reports its progress to its deployment.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>External engine profiles by name (DeepDeploy:Node:Engines:&lt;name&gt;): OpenAI-compatible servers such as
    /// vLLM, SGLang or llama-server, started from a command template. See <see cref="EngineProfile"/>.</summary>
    public Dictionary<string, EngineProfile> Engines { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The range external engines get their ports from (they are told theirs; the built-in worker binds
    /// port 0 and reports it). Below Linux's ephemeral range (32768+), so no outgoing connection takes one.</summary>
    public int EnginePortFirst { get; set; } = 32000;

    public int EnginePortLast { get; set; } = 32767;

    /// <summary>Engines as unprivileged users of their own when the node runs as root (see <see cref="EngineUserOptions"/>).</summary>
    public EngineUserOptions EngineUsers { get; set; } = new();

    /// <summary>The profile that runs GGUF weights instead of the built-in worker (e.g. a llama-server profile); null: the built-in worker.</summary>
    public string? GgufEngine { get; set; }

    public const string DefaultSimulatedGpus = "4xA100-80GB,4xH100-80GB";
}
