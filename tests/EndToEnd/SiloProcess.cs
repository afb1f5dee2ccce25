using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.EndToEnd;

/// <summary>The all-in-one silo as its own OS process (DeepDeploy.Silo.dll from the test's bin), for tests
/// that must crash it for real.</summary>
public sealed class SiloProcess : IDisposable
{
    readonly ProcessHost _host;

    SiloProcess(ProcessHost host, Uri baseAddress)
    {
        _host = host;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<SiloProcess> StartAsync(string dataDir)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{Ports.Free()}");
        var host = ProcessHost.StartDotnet("silo", "DeepDeploy.Silo.dll", ["--urls", baseAddress.ToString()], new Dictionary<string, string>
        {
            ["DEEPDEPLOY_DATA_DIR"] = dataDir,
            ["DEEPDEPLOY_ADMIN_TOKEN"] = RunningSystem.AdminToken,
            ["DeepDeploy__SiloPort"] = Ports.Free().ToString(),
            ["DeepDeploy__GatewayPort"] = Ports.Free().ToString(),
            ["DeepDeploy__Node__Name"] = "crash-node",
        });
        var silo = new SiloProcess(host, baseAddress);
        try
        {
            await SystemHttp.WaitHealthyAsync(host, baseAddress, TimeSpan.FromSeconds(60));
            return silo;
        }
        catch
        {
            silo.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown hooks run, so its engine processes are left orphaned.</summary>
    public void Crash() => _host.Kill(entireProcessTree: false);

    public void Dispose() => _host.Dispose();
}
