using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// Runs DeepDeploy.GpuWorker as a real OS process: <c>dotnet &lt;test bin&gt;/worker/DeepDeploy.GpuWorker.dll ...</c>
/// (the worker's build output is copied to worker/ in the test output through silo's project reference).
/// Reads the LISTENING line from stdout, keeps stderr for diagnostics, and kills the process tree on dispose.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    public const string ListeningPrefix = "DEEPDEPLOY_WORKER_LISTENING ";

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public string Stdout
    {
        get { lock (_stdout) return _stdout.ToString(); }
    }

    public static string WorkerDll => DeepDeploy.Node.NodeOptions.DefaultWorkerPath;

    /// <summary>The dotnet host running this test (so the worker uses the same runtime), else "dotnet" from PATH.</summary>
    public static string DotnetHost
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
                return fromSdk;
            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    public static async Task<WorkerProcess> StartAsync(string modelPath, IEnumerable<string>? extraArgs = null,
        IDictionary<string, string>? environment = null, TimeSpan? listenTimeout = null)
    {
        var psi = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(WorkerDll);
        psi.ArgumentList.Add("--model");
        psi.ArgumentList.Add(modelPath);
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add("0");
        foreach (var a in extraArgs ?? [])
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (worker._stderr) worker._stderr.AppendLine(e.Data);
        };
        process.Exited += (_, _) =>
        {
            process.WaitForExit(); // drains the redirected streams, so stdout/stderr are complete
            worker._listening.TrySetException(
                new InvalidOperationException($"worker exited before listening (code {process.ExitCode}). stderr:\n{worker.Stderr}"));
        };

        if (!process.Start())
            throw new InvalidOperationException("could not start the worker process");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var url = await worker._listening.Task.WaitAsync(listenTimeout ?? TimeSpan.FromSeconds(60));
            worker.BaseAddress = new Uri(url);
            worker.Http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
            return;
        lock (_stdout)
            _stdout.AppendLine(line);
        if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            _listening.TrySetResult(line[ListeningPrefix.Length..].Trim());
    }

    /// <summary>Polls /health until it answers 200 (returns the JSON) or the timeout elapses.</summary>
    public async Task<JsonElement> WaitHealthyAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"worker exited with {_process.ExitCode}. stderr:\n{Stderr}");
            try
            {
                using var r = await Http.GetAsync("/health");
                if (r.IsSuccessStatusCode)
                    return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"worker did not become healthy. stderr:\n{Stderr}");
            await Task.Delay(20);
        }
    }

    /// <summary>Reads a gauge or counter from /metrics (with the node agent's parser).</summary>
    public async Task<double> MetricAsync(string name)
    {
        var text = await Http.GetStringAsync("/metrics");
        return DeepDeploy.Silo.Nodes.EngineCommand.ReadLoad(text, [name])
            ?? throw new InvalidOperationException($"metric {name} not found in:\n{text}");
    }

    public void SendSigterm()
    {
        if (SysKill(_process.Id, 15) != 0)
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
