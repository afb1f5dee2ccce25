using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepDeploy.Tests.EndToEnd;

/// <summary>The all-in-one silo as its own OS process (DeepDeploy.Silo.dll from the test's bin), for tests
/// that must crash it for real.</summary>
public sealed class SiloProcess : IDisposable
{
    readonly Process _process;

    SiloProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<SiloProcess> StartAsync(string dataDir)
    {
        var port = Ports.Free();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "DeepDeploy.Silo.dll"), "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DEEPDEPLOY_DATA_DIR"] = dataDir;
        start.Environment["DEEPDEPLOY_ADMIN_TOKEN"] = RunningSystem.AdminToken;
        start.Environment["DeepDeploy__SiloPort"] = Ports.Free().ToString();
        start.Environment["DeepDeploy__GatewayPort"] = Ports.Free().ToString();
        start.Environment["DeepDeploy__Node__Name"] = "crash-node";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var silo = new SiloProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, "silo process exited during start");
            Assert.True(DateTime.UtcNow < deadline, "silo did not start in 60 s");
            try
            {
                if ((await http.GetAsync(new Uri(silo.BaseAddress, "/health"))).IsSuccessStatusCode)
                {
                    return silo;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no shutdown hooks run, so its engine processes are left orphaned.</summary>
    public void Crash()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
