using System.Globalization;
using System.Text.Json;
using DeepDeploy.Tests.Support;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// Runs DeepDeploy.GpuWorker as a real OS process: <c>dotnet &lt;test bin&gt;/worker/DeepDeploy.GpuWorker.dll ...</c>
/// (the worker's build output is copied to worker/ in the test output through silo's project reference),
/// on a port of its own choosing that it announces on its listening line.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    readonly ProcessHost _host;

    WorkerProcess(ProcessHost host, Uri baseAddress)
    {
        _host = host;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public int Pid => _host.Pid;

    public bool HasExited => _host.HasExited;

    public int ExitCode => _host.ExitCode;

    public string Stderr => _host.Output.Stderr;

    public string Stdout => _host.Output.Stdout;

    public static string WorkerDll => DeepDeploy.Node.NodeOptions.DefaultWorkerPath;

    public static string DotnetHost => ProcessHost.DotnetHost;

    public static async Task<WorkerProcess> StartAsync(string modelPath, IEnumerable<string>? extraArgs = null,
        IDictionary<string, string>? environment = null, TimeSpan? listenTimeout = null)
    {
        // One decode thread unless a test asks for more: tests run side by side on shared cores, where a two-thread
        // OpenMP team spinning at its barriers convoys (docs/worker.md) and what they check does not need it.
        string[] args = [.. extraArgs ?? []];
        string[] threads = args.Contains(Protocol.Args.Threads) ? [] : [Protocol.Args.Threads, "1"];
        var host = ProcessHost.StartDotnet("worker", WorkerDll,
            [Protocol.Args.Model, modelPath, Protocol.Args.Port, "0", .. threads, .. args], environment);
        try
        {
            var line = await host.WaitForLineAsync(l => Protocol.Readiness.ParseListening(l) is not null,
                listenTimeout ?? TimeSpan.FromSeconds(60), "listening");
            return new WorkerProcess(host, Protocol.Readiness.ParseListening(line)!);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Polls /health until it answers 200 (returns the JSON) or the timeout elapses.</summary>
    public async Task<JsonElement> WaitHealthyAsync(TimeSpan? timeout = null)
    {
        var health = await _host.WaitForAsync(
            async () =>
            {
                using var response = await Http.GetAsync("/health");
                return response.IsSuccessStatusCode
                    ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone()
                    : (JsonElement?)null;
            },
            body => body is not null,
            timeout ?? TimeSpan.FromSeconds(60),
            "healthy");
        return health!.Value;
    }

    /// <summary>Reads a gauge or counter from /metrics (with the node agent's parser).</summary>
    public async Task<double> MetricAsync(string name)
    {
        var text = await Http.GetStringAsync("/metrics");
        return DeepDeploy.Node.Engines.EngineCommand.ReadLoad(text, [name])
            ?? throw new InvalidOperationException($"metric {name} not found in:\n{text}");
    }

    public void SendSigterm() => _host.Terminate();

    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _host.WaitForExitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _host.DisposeAsync();
    }
}
