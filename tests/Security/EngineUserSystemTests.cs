using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;

namespace DeepDeploy.Tests.Security;

/// <summary>The whole system as root: the node starts the built-in worker as an unprivileged user of its own, which
/// loads its weights (through its own links) and serves the gateway.</summary>
[Collection(SystemCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineUserSystemTests
{
    [RootFact]
    public async Task A_root_node_runs_the_built_in_worker_unprivileged_and_it_serves()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("uma");
        using var client = system.Client(token);
        await GatewaySystem.DeployAsync(client, "tiny", maxBatchSize: 2, minInstances: 1, maxInstances: 1, running: 1);

        var chat = await client.PostAsJsonAsync("/v1/openai/chat/completions",
            new { model = "uma/tiny", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        var instance = Assert.Single(system.Agent.Instances);
        var status = File.ReadAllLines($"/proc/{instance.Process!.Id}/status");
        var uids = status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.All(uids, uid => Assert.Equal(instance.User!.Uid.ToString(), uid));
        Assert.NotEqual(0, instance.User!.Uid);
        Assert.Contains("NoNewPrivs:\t1", status);
        Assert.Equal("", status.Single(l => l.StartsWith("Groups:", StringComparison.Ordinal))["Groups:".Length..].Trim());
        // The data directory's secrets are the node's alone.
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(system.DataDir, "deepdeploy.db")) & others);
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(system.DataDir, "keys")) & others);
        Assert.Equal(UnixFileMode.OtherExecute, File.GetUnixFileMode(system.DataDir) & (UnixFileMode.OtherRead | UnixFileMode.OtherExecute));
    }
}
