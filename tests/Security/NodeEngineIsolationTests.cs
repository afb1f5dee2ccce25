using System.Diagnostics;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Security;

/// <summary>Real engine processes started by the node's launcher: the built-in worker and an external profile get a
/// built-from-nothing environment (none of the host's secrets), their own working directory, and a pid file by
/// which a restarted node recognises and kills them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeEngineIsolationTests : IDisposable
{
    /// <summary>Secret-looking variables of the host no component reads, so setting them here disturbs no other test;
    /// the allow-list assertion below covers DEEPDEPLOY_DATABASE, DEEPDEPLOY_ADMIN_TOKEN and HF_TOKEN too.</summary>
    static readonly string[] HostSecrets = ["POSTGRES_PASSWORD", "AWS_SECRET_ACCESS_KEY", "DEEPDEPLOY_NODE_TEST_SECRET"];

    static readonly string[] Allowed =
    [
        "PATH", "LANG", "TZ", "HOME", "TMPDIR", "CUDA_VISIBLE_DEVICES", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME",
        EngineEnvironment.InstanceVariable,
    ];

    readonly string _root = SystemHttp.NewDataDirectory("deepdeploy-node-isolation-");
    readonly List<Process> _started = [];

    public NodeEngineIsolationTests()
    {
        foreach (var name in HostSecrets)
        {
            Environment.SetEnvironmentVariable(name, "s3cret-" + name);
        }
    }

    NodePaths Paths => new(_root, "iso-node");

    static EngineInstance Instance(string instanceId) => new(
        new InstanceLaunch(instanceId, "dep", "alice/m", "A100-80GB", 2, 4, "acme/m", "main", "", null, []), [1, 3]);

    [Fact]
    public async Task An_external_engine_gets_only_its_explicit_environment_and_its_own_working_directory()
    {
        var profile = new EngineProfile { Command = "/bin/sleep", Args = "300", Environment = { ["ENGINE_MODEL"] = "{model_path}" } };
        var instance = Instance("dep-1");
        var launcher = new EngineLauncher(new PidFiles(Paths.RunDirectory));
        var command = EngineStart.ForProfile(new NodeOptions(), instance, profile, "/models/m", 32001, Paths.EngineDirectory("dep-1"));

        await launcher.StartAsync(instance, command);
        var pid = Track(instance);

        var environment = ReadEnvironment(pid);
        Assert.All(HostSecrets, name => Assert.DoesNotContain(name, environment.Keys));
        Assert.All(environment.Keys, key => Assert.True(Allowed.Contains(key) || key.StartsWith("DOTNET_", StringComparison.Ordinal) || key == "ENGINE_MODEL",
            $"the engine inherited {key}"));
        Assert.Equal("/models/m", environment["ENGINE_MODEL"]);
        Assert.Equal("1,3", environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("1", environment["HF_HUB_OFFLINE"]);
        Assert.Equal("dep-1", environment[EngineEnvironment.InstanceVariable]);
        Assert.Equal(Paths.EngineDirectory("dep-1"), environment["HOME"]);
        Assert.Equal(Paths.EngineDirectory("dep-1"), new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Paths.EngineDirectory("dep-1")));
    }

    [Fact]
    public async Task The_built_in_worker_runs_with_the_explicit_environment_and_holds_no_host_secret()
    {
        var options = new NodeOptions { WorkerArgs = "--engine fake --fake-token-rate 0" };
        var instance = Instance("dep-2");
        var launcher = new EngineLauncher(new PidFiles(Paths.RunDirectory));

        // The worker announcing its listening line proves the explicit environment is enough to run dotnet.
        var endpoint = await launcher.StartAsync(instance, EngineStart.ForWorker(options, instance, "unused.gguf", Paths.EngineDirectory("dep-2")));
        var pid = Track(instance);

        Assert.StartsWith("http://127.0.0.1:", endpoint);
        var environment = ReadEnvironment(pid);
        Assert.All(HostSecrets, name => Assert.DoesNotContain(name, environment.Keys));
        Assert.All(environment.Keys, key => Assert.True(Allowed.Contains(key) || key.StartsWith("DOTNET_", StringComparison.Ordinal), $"the worker inherited {key}"));
        Assert.Equal(Paths.EngineDirectory("dep-2"), environment["HOME"]);
    }

    [Fact]
    public async Task A_restarted_node_kills_an_orphaned_external_engine_but_not_a_stranger_with_a_recycled_pid()
    {
        var profile = new EngineProfile { Command = "/bin/sleep", Args = "300" };
        var instance = Instance("dep-3");
        var launcher = new EngineLauncher(new PidFiles(Paths.RunDirectory));
        await launcher.StartAsync(instance, EngineStart.ForProfile(new NodeOptions(), instance, profile, "/models/m", 32002, Paths.EngineDirectory("dep-3")));
        var orphan = Track(instance);
        // A process that is not an engine under a listed pid (as after pid reuse) must survive.
        var stranger = Process.Start("/bin/sleep", "300");
        _started.Add(stranger);
        new PidFiles(Paths.RunDirectory).Write("dep-4", stranger.Id);

        // A new node over the same run directory: what the silo's start does before it registers its GPUs.
        var killed = new PidFiles(Paths.RunDirectory).KillOrphans();

        Assert.Equal(1, killed);
        await Eventually.TrueAsync(() => HasExited(orphan), TimeSpan.FromSeconds(10), "the orphaned external engine exits");
        Assert.False(stranger.HasExited);
        Assert.Empty(Directory.GetFiles(Paths.RunDirectory, "*.pid"));
    }

    int Track(EngineInstance instance)
    {
        var process = instance.Process!;
        _started.Add(process);
        return process.Id;
    }

    static Dictionary<string, string> ReadEnvironment(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : "", StringComparer.Ordinal);

    static bool HasExited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        foreach (var process in _started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        foreach (var name in HostSecrets)
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        Directory.Delete(_root, recursive: true);
    }
}
