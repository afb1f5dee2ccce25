using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Production;

/// <summary>One DeepDeploy process of a production-mode cluster (DeepDeploy.Silo.dll from the test's bin with a
/// <c>--role</c>), a real OS process that can be stopped, SIGKILLed and started again over the same data directory.</summary>
public sealed class ClusterProcess : IDisposable
{
    // One output across restarts, so a failure shows what each run printed.
    readonly ProcessOutput _output = new();
    readonly IReadOnlyDictionary<string, string> _environment;
    ProcessHost? _host;

    public ClusterProcess(string name, string role, string dataDir, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        Role = role;
        DataDir = dataDir;
        _environment = environment;
        HttpPort = Ports.Free();
        SiloPort = Ports.Free();
        GatewayPort = Ports.Free();
    }

    public string Name { get; }

    public string Role { get; }

    public string DataDir { get; }

    public int HttpPort { get; }

    /// <summary>The Orleans silo-to-silo port (what SiloAddress.Endpoint.Port reports).</summary>
    public int SiloPort { get; }

    public int GatewayPort { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    public int? Pid => IsRunning ? _host!.Pid : null;

    public bool IsRunning => _host is { HasExited: false };

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        var environment = new Dictionary<string, string>(_environment)
        {
            ["DEEPDEPLOY_DATA_DIR"] = DataDir,
            ["POD_NAME"] = Name,           // the Kubernetes convention: silo name...
            ["POD_IP"] = "127.0.0.1",      // ...and advertised address from the pod
            ["DeepDeploy__SiloPort"] = SiloPort.ToString(),
            ["DeepDeploy__GatewayPort"] = GatewayPort.ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__Console__FormatterName"] = "simple",
        };
        _host?.Dispose();
        _host = ProcessHost.StartDotnet(Name, "DeepDeploy.Silo.dll", ["--role", Role, "--urls", BaseAddress.ToString()], environment, _output);
        _output.Add($"--- started pid {_host.Pid} ---");
    }

    public Task WaitHealthyAsync(TimeSpan timeout) =>
        SystemHttp.WaitHealthyAsync(_host ?? throw new InvalidOperationException($"{Name} was not started"), BaseAddress, timeout);

    /// <summary>SIGKILL: no shutdown code runs (its engine processes, if any, are orphaned).</summary>
    public void Kill()
    {
        if (IsRunning)
        {
            _host!.Kill(entireProcessTree: false);
            _output.Add("--- SIGKILLed ---");
        }
    }

    /// <summary>SIGTERM and wait: the graceful stop an orchestrator does.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (!IsRunning)
        {
            return;
        }

        if (!await _host!.StopAsync(timeout))
        {
            throw new TimeoutException($"{Name} did not stop within {timeout} of SIGTERM:\n{Output()}");
        }

        _output.Add($"--- stopped, code {_host.ExitCode} ---");
    }

    public string Output(int lines = 60) => $"[{Name}] " + _output.Tail(lines).Replace("\n", "\n[" + Name + "] ");

    public void Dispose() => _host?.Dispose();
}
