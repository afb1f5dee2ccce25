using System.Collections.Concurrent;
using System.Diagnostics;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Production;

/// <summary>One DeepDeploy process of a production-mode cluster (DeepDeploy.Silo.dll from the test's bin with a
/// <c>--role</c>), a real OS process that can be stopped, SIGKILLed and started again over the same data directory.</summary>
public sealed class ClusterProcess : IDisposable
{
    readonly ConcurrentQueue<string> _output = new();
    readonly IReadOnlyDictionary<string, string> _environment;
    Process? _process;

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

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public bool IsRunning => _process is { HasExited: false };

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "DeepDeploy.Silo.dll"), "--role", Role, "--urls", BaseAddress.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["DEEPDEPLOY_DATA_DIR"] = DataDir;
        start.Environment["POD_NAME"] = Name;           // the Kubernetes convention: silo name...
        start.Environment["POD_IP"] = "127.0.0.1";      // ...and advertised address from the pod
        start.Environment["DeepDeploy__SiloPort"] = SiloPort.ToString();
        start.Environment["DeepDeploy__GatewayPort"] = GatewayPort.ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Record($"--- started pid {process.Id} ---");
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process is not { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} exited during start (code {_process?.ExitCode}):\n{Output()}");
            }

            try
            {
                if ((await http.GetAsync(new Uri(BaseAddress, "/health"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} not healthy after {timeout}:\n{Output()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs (its engine processes, if any, are orphaned).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
            Record("--- SIGKILLed ---");
        }
    }

    /// <summary>SIGTERM and wait: the graceful stop an orchestrator does.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        ProcessSignals.Terminate(process.Id);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            Record($"--- stopped, code {process.ExitCode} ---");
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} did not stop within {timeout} of SIGTERM:\n{Output()}");
        }
    }

    public string Output(int lines = 60) => $"[{Name}] " + string.Join("\n[" + Name + "] ", _output.TakeLast(lines));

    public void Dispose()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        _process?.Dispose();
    }

    void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 400 && _output.TryDequeue(out _))
        {
        }
    }
}
