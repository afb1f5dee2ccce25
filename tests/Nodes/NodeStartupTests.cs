using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Nodes;

/// <summary>Start-up of a real all-in-one silo process after a crash: a deployment whose grain cannot activate does not
/// keep the silo or the other deployments from starting, and the engines the crash orphaned are replaced without
/// double-booking GPUs.</summary>
[Collection(SystemCollection.Name)]
public sealed class NodeStartupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_deployment_whose_state_is_corrupt_does_not_stop_the_silo_or_the_others_from_starting()
    {
        using var directory = TempDirectory.Create("deepdeploy-startup-");
        var dataDir = directory.Path;
        string token, healthy, broken;
        int[] orphans;
        using (var silo = await SiloProcess.StartAsync(dataDir))
        {
            using var admin = Client(silo, RunningSystem.AdminToken);
            token = await SystemHttp.CreateUserAsync(admin, "rita");
            using var client = Client(silo, token);
            healthy = await DeployAsync(client, "steady");
            broken = await DeployAsync(client, "broken");
            await RunningSystem.WaitForAsync(client, healthy, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            await RunningSystem.WaitForAsync(client, broken, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            orphans = EnginePids.Under(dataDir);
            Assert.Equal(2, orphans.Length);
            silo.Crash();
        }

        Assert.Equal(1, Corrupt(dataDir, broken));
        using (var silo = await SiloProcess.StartAsync(dataDir))
        {
            using var client = Client(silo, token);
            Assert.All(orphans, pid => Assert.False(EnginePids.IsAlive(pid), $"the restarted node must kill orphan {pid} before it registers"));
            await RunningSystem.WaitForAsync(client, healthy, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            var chat = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "rita/steady", prompt = "again", max_tokens = 4 });
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

            // The operator sees which deployment and why: readiness degraded (not failed) naming it.
            using var probe = SystemHttp.Client(silo.BaseAddress, null, TimeSpan.FromSeconds(30));
            using var ready = await probe.GetAsync("/health/ready");
            var report = await ready.Content.ReadFromJsonAsync<JsonElement>();
            output.WriteLine(report.ToString());
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var node = report.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "node");
            Assert.Equal("degraded", node.GetProperty("status").GetString());
            Assert.Contains(broken, node.GetProperty("description").GetString());

            // ... and the operators' event feed names it.
            using var admin = Client(silo, RunningSystem.AdminToken);
            var feed = await admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=500");
            Assert.Contains(feed.GetProperty("events").EnumerateArray(), e => e.GetProperty("deploy_id").GetString() == broken
                && e.TryGetProperty("failure_reason", out var reason) && reason.GetString() == "deployment unavailable");

            // One engine runs: the healthy deployment's replacement (the orphans were killed, not adopted twice).
            Assert.Single(EnginePids.Under(dataDir));
        }
    }

    static async Task<string> DeployAsync(HttpClient client, string name)
    {
        var created = await client.PostAsJsonAsync("/deploy/llm", new
        {
            model_name = name,
            gpu = "A100-80GB",
            max_batch_size = 2,
            hf = new { repo = "deepdeploy/tiny-llama-gguf" },
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
    }

    /// <summary>Overwrites the deployment grain's saved state with bytes no serializer reads; returns the rows changed.</summary>
    static int Corrupt(string dataDir, string deployId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "deepdeploy.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE OrleansStorage SET PayloadBinary = x'deadbeef00ff' WHERE GrainIdExtensionString LIKE $k AND GrainTypeString = 'deployment';";
        command.Parameters.AddWithValue("$k", "%" + deployId);
        return command.ExecuteNonQuery();
    }

    static HttpClient Client(SiloProcess silo, string token) => SystemHttp.Client(silo.BaseAddress, token, TimeSpan.FromMinutes(2));
}
