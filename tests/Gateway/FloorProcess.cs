using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The gateway benchmark's floor: a bare Kestrel pass-through to the same workers
/// (benchmarks/DeepDeploy.Benchmarks <c>--floor MODE</c>, built in the tests' configuration) as a process of its own,
/// with server GC as the silo has: what forwarding costs before DeepDeploy adds anything. Modes: <c>yarp</c> (YARP's
/// forwarder), <c>raw</c> (hand-written HTTP/1.1 over pooled sockets), <c>kestrel</c> (a canned answer, no forwarding).</summary>
public sealed class FloorProcess : IAsyncDisposable
{
    readonly ProcessHost _host;

    FloorProcess(ProcessHost host, Uri baseAddress, string mode)
    {
        _host = host;
        BaseAddress = baseAddress;
        Mode = mode;
    }

    /// <summary>yarp, raw or kestrel.</summary>
    public string Mode { get; }

    public Uri BaseAddress { get; }

    public int Pid => _host.Pid;

    /// <summary>The benchmarks' build of the tests' configuration (Release or Debug), or null when not built.</summary>
    public static string? Dll
    {
        get
        {
            var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var (configuration, framework) = (bin.Parent!.Name, bin.Name);
            for (var dir = bin; dir is not null; dir = dir.Parent)
            {
                var dll = Path.Combine(dir.FullName, "benchmarks", "DeepDeploy.Benchmarks", "bin", configuration, framework, "DeepDeploy.Benchmarks.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }
            }

            return null;
        }
    }

    /// <param name="environment">Runtime knobs on top of server GC (<see cref="RuntimeKnob"/>).</param>
    public static async Task<FloorProcess> StartAsync(IEnumerable<(string Endpoint, string Secret)> workers, IReadOnlyDictionary<string, string>? environment = null,
        string mode = "yarp")
    {
        var baseAddress = new Uri($"http://127.0.0.1:{Ports.Free()}");
        var host = ProcessHost.Start($"floor-{mode}", ProcessHost.DotnetHost,
            [Dll ?? throw new InvalidOperationException("benchmarks/DeepDeploy.Benchmarks is not built"), "--floor", mode, baseAddress.ToString(),
                .. workers.Select(w => $"{w.Endpoint}={w.Secret}")],
            new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["DOTNET_gcServer"] = environment?.GetValueOrDefault("DOTNET_gcServer") ?? "1" });
        try
        {
            await host.WaitForLineAsync(line => line.StartsWith("floor listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "listening");
            return new FloorProcess(host, baseAddress, mode);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
