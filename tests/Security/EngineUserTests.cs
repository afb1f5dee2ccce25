using System.Diagnostics;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Security;

/// <summary>Engines started by a root node run as unprivileged users of their own (setpriv): a real probe engine
/// reads its own weights and nothing of the data directory, another snapshot, or another engine's process; what
/// it leaves behind dies with its instance.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineUserTests : IDisposable
{
    const string Probe = """
        #!/bin/sh
        echo "uid=$(id -u) groups=$(id -G)"
        try() { if cat "$2" >/dev/null 2>&1; then echo "$1=read"; else echo "$1=denied"; fi; }
        try own "$1"
        try theirs "$THEIRS"
        try database "$DATA/deepdeploy.db"
        try token "$DATA/admin-token"
        try keys "$DATA/keys/key.xml"
        try pids "$PIDS"
        if ls "$MODELS" >/dev/null 2>&1; then echo "cache=listed"; else echo "cache=denied"; fi
        if kill -0 "$VICTIM" 2>/dev/null; then echo "signal=sent"; else echo "signal=denied"; fi
        ( setsid sleep 301 </dev/null >/dev/null 2>&1 & )
        echo probe-done
        exec sleep 300
        """;

    readonly string _root = SystemHttp.NewDataDirectory("deepdeploy-engine-users-");
    readonly string _bin = SystemHttp.NewDataDirectory("deepdeploy-engine-probe-");
    readonly List<EngineInstance> _instances = [];
    readonly EngineLauncher _launcher;

    public EngineUserTests()
    {
        _launcher = new EngineLauncher(new PidFiles(Paths.RunDirectory), new EngineUsers(new EngineUserOptions { Enabled = true }), new EngineSandbox(Paths));
    }

    NodePaths Paths => new(_root, "users-node");

    [RootFact]
    public async Task An_engine_runs_as_its_own_user_and_reads_its_own_weights_only()
    {
        // What a root node's data directory holds, readable by anyone until the node guards it.
        File.WriteAllText(Path.Combine(_root, "deepdeploy.db"), "database");
        File.WriteAllText(Path.Combine(_root, "admin-token"), "operator token");
        Directory.CreateDirectory(Path.Combine(_root, "keys"));
        File.WriteAllText(Path.Combine(_root, "keys", "key.xml"), "data protection key");
        File.SetUnixFileMode(_root, (UnixFileMode)Convert.ToInt32("755", 8));
        var own = Snapshot("acme--own", "own.gguf", "own weights");
        var theirs = Snapshot("other--theirs", "theirs.gguf", "another tenant's weights");

        var victim = await StartAsync("victim-1", new EngineProfile { Command = "/bin/sleep", Args = "300" }, own);
        var script = Path.Combine(_bin, "probe.sh");
        File.WriteAllText(script, Probe.Replace("\r", ""));
        File.SetUnixFileMode(_bin, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(script, (UnixFileMode)Convert.ToInt32("755", 8));
        var probe = await StartAsync("probe-1", new EngineProfile
        {
            Command = script,
            Args = "{model_path}",
            Environment =
            {
                ["THEIRS"] = theirs, ["DATA"] = _root, ["MODELS"] = Paths.ModelsDirectory,
                ["PIDS"] = Path.Combine(Paths.RunDirectory, "victim-1.pid"), ["VICTIM"] = victim.Process!.Id.ToString(),
            },
        }, own);

        await Eventually.TrueAsync(() => probe.Output.LastLines(50).Contains("probe-done"), TimeSpan.FromSeconds(30), "the probe engine reports");
        var seen = probe.Output.LastLines(50).Where(l => l.Contains('=')).Select(l => l.Split('=', 2))
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);
        var user = probe.User!;
        Assert.NotEqual(0, user.Uid);
        Assert.NotEqual(victim.User!.Uid, user.Uid);
        Assert.Equal($"{user.Uid} groups={user.Gid}", seen["uid"]);
        Assert.Equal("read", seen["own"]);
        Assert.All(new[] { "theirs", "database", "token", "keys", "pids", "cache", "signal" }, what =>
            Assert.True(seen[what] == "denied", $"the engine could get at {what}: {seen[what]}"));
        Assert.Contains("NoNewPrivs:\t1", File.ReadAllText($"/proc/{probe.Process!.Id}/status"));

        // The daemon the probe left behind dies with its instance, before its uid serves another.
        var stray = ProcessesOf(user.Uid).Where(pid => pid != probe.Process.Id).ToArray();
        Assert.NotEmpty(stray);
        await EngineLauncher.KillAsync(probe);
        _launcher.Release(probe);
        await Eventually.TrueAsync(() => ProcessesOf(user.Uid).Length == 0, TimeSpan.FromSeconds(10), "no process of the engine's user is left");
    }

    async Task<EngineInstance> StartAsync(string instanceId, EngineProfile profile, string weights)
    {
        var instance = new EngineInstance(new InstanceLaunch(instanceId, "dep", "alice/m", "A100-80GB", 1, 4, "acme/own", "c1", "", null, []), [0]);
        _instances.Add(instance);
        var directory = Paths.EngineDirectory(instanceId);
        var modelPath = _launcher.PrepareWeights(directory, weights);
        await _launcher.StartAsync(instance, EngineStart.ForProfile(new NodeOptions(), instance, profile, modelPath, 32100 + _instances.Count, directory));
        return instance;
    }

    /// <summary>A cache snapshot as the weights cache lays it out: a symlink to a blob of the repo.</summary>
    string Snapshot(string repo, string file, string content)
    {
        var repoDir = Path.Combine(Paths.ModelsDirectory, repo);
        Directory.CreateDirectory(Path.Combine(repoDir, "blobs"));
        File.WriteAllText(Path.Combine(repoDir, "blobs", file + ".blob"), content);
        var snapshot = Path.Combine(repoDir, "snapshots", "c1");
        Directory.CreateDirectory(snapshot);
        var link = Path.Combine(snapshot, file);
        File.CreateSymbolicLink(link, Path.Combine("..", "..", "blobs", file + ".blob"));
        return link;
    }

    static int[] ProcessesOf(int uid) =>
        Directory.EnumerateDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Where(d =>
            {
                try
                {
                    return File.ReadLines(Path.Combine(d, "status")).Any(l => l.StartsWith($"Uid:\t{uid}\t", StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .Select(d => int.Parse(Path.GetFileName(d)))
            .ToArray();

    public void Dispose()
    {
        foreach (var instance in _instances)
        {
            EngineLauncher.KillAsync(instance).GetAwaiter().GetResult();
            _launcher.Release(instance);
        }

        Directory.Delete(_root, recursive: true);
        Directory.Delete(_bin, recursive: true);
    }
}
