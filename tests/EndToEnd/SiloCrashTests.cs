using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.EndToEnd;

[Collection(SystemCollection.Name)]
public sealed class SiloCrashTests
{
    [Fact]
    public async Task After_a_silo_crash_the_orphaned_worker_is_killed_and_the_instance_placed_again()
    {
        using var directory = TempDirectory.Create("deepdeploy-crash-");
        var dataDir = directory.Path;
        string token, deployId;
        int orphanPid;
        using (var silo = await SiloProcess.StartAsync(dataDir))
        {
            using var admin = Client(silo, RunningSystem.AdminToken);
            var user = await (await admin.PostAsJsonAsync("/admin/users", new { name = "dave" })).Content.ReadFromJsonAsync<JsonElement>();
            token = user.GetProperty("token").GetString()!;
            using var client = Client(silo, token);
            var created = await client.PostAsJsonAsync("/deploy/llm", new
            {
                model_name = "phoenix",
                gpu = "A100-80GB",
                max_batch_size = 2,
                hf = new { repo = "deepdeploy/tiny-llama-gguf" },
            });
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
            await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            orphanPid = EnginePids.Under(dataDir).Single();
            silo.Crash();
        }

        // Linux keeps the worker alive after its parent dies: an orphan holding a (simulated) GPU.
        Assert.True(EnginePids.IsAlive(orphanPid), "the worker should outlive the SIGKILLed silo");

        using (var silo = await SiloProcess.StartAsync(dataDir))
        {
            using var client = Client(silo, token);
            Assert.False(EnginePids.IsAlive(orphanPid), "the restarted node must kill the orphan before it registers");
            var back = await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            Assert.Equal(1, back.GetProperty("instances").GetProperty("running").GetInt32());
            var newPid = EnginePids.Under(dataDir).Single();
            Assert.NotEqual(orphanPid, newPid);

            // No GPU is booked twice: the orphan's GPU went back before the node registered, the replacement holds one.
            using var admin = Client(silo, RunningSystem.AdminToken);
            var node = (await admin.GetFromJsonAsync<JsonElement>("/admin/nodes")).GetProperty("nodes").EnumerateArray()
                .Single(n => n.GetProperty("name").GetString() == "crash-node");
            var held = Assert.Single(node.GetProperty("gpus").EnumerateArray(), g => g.GetProperty("state").GetString() != "free");
            Assert.Equal(deployId, held.GetProperty("deploy_id").GetString());
            Assert.Equal(node.GetProperty("gpu_count").GetInt32() - 1, node.GetProperty("free_gpus").GetInt32());

            var chat = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "dave/phoenix", prompt = "again", max_tokens = 4 });
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
    }

    static HttpClient Client(SiloProcess silo, string token) => SystemHttp.Client(silo.BaseAddress, token, TimeSpan.FromMinutes(2));
}
