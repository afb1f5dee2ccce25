using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.EndToEnd;

[Collection(SystemCollection.Name)]
public sealed class RestartTests
{
    [Fact]
    public async Task User_token_and_deployment_survive_a_restart_and_the_instance_comes_back()
    {
        string token, deployId;
        int firstPid;
        using var dataDir = TempDirectory.Create("deepdeploy-e2e-");
        await using (var system = await RunningSystem.StartAsync(dataDir.Path))
        {
            token = await system.CreateUserAsync("carol");
            using var client = system.Client(token);
            var created = await client.PostAsJsonAsync("/deploy/llm", new
            {
                model_name = "keeper",
                gpu = "H100-80GB",
                max_batch_size = 2,
                hf = new { repo = "deepdeploy/tiny-llama-gguf" },
            });
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
            await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            firstPid = Assert.Single(system.Agent.Instances).Process!.Id;
        }

        // The old worker stopped with its silo.
        Assert.Throws<ArgumentException>(() => System.Diagnostics.Process.GetProcessById(firstPid));

        await using (var system = await RunningSystem.StartAsync(dataDir.Path))
        {
            using var client = system.Client(token);
            var back = await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            Assert.Equal("carol/keeper", back.GetProperty("model_name").GetString());
            Assert.Equal("H100-80GB", back.GetProperty("config").GetProperty("gpu").GetString());

            var chat = await client.PostAsJsonAsync("/v1/openai/chat/completions", new
            {
                model = "carol/keeper",
                messages = new[] { new { role = "user", content = "still there?" } },
                max_tokens = 8,
            });
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
    }
}
