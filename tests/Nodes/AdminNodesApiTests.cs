using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.Nodes;

/// <summary>GET /admin/nodes through real HTTP against the real system: which deployment holds which GPU.</summary>
[Collection(SystemCollection.Name)]
public sealed class AdminNodesApiTests
{
    [Fact]
    public async Task The_operator_sees_the_running_deployment_holding_its_gpu_and_a_user_is_refused()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("nora");
        using var client = system.Client(token);
        using var admin = system.Client(RunningSystem.AdminToken);
        using var anonymous = system.Client(null);
        var id = Id(await CreateAsync(client, Tiny("held")));
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        var instanceId = Assert.Single(system.Agent.Instances).Launch.InstanceId;

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin/nodes")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/nodes")).StatusCode);

        // The first heartbeat after registration gives the last report time.
        var answer = await Eventually.MatchAsync(() => admin.GetFromJsonAsync<JsonElement>("/admin/nodes"),
            a => a.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("last_report_at").ValueKind == JsonValueKind.String),
            TimeSpan.FromSeconds(20), "every node's last report time");

        var node = Assert.Single(answer.GetProperty("nodes").EnumerateArray(),
            n => n.GetProperty("gpus").EnumerateArray().Any(g => g.GetProperty("deploy_id").GetString() == id));
        Assert.Equal("live", node.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, node.GetProperty("unreachable").ValueKind);
        var gpus = node.GetProperty("gpus").EnumerateArray().ToList();
        Assert.Equal(node.GetProperty("gpu_count").GetInt32(), gpus.Count);
        Assert.Equal(gpus.Count(g => g.GetProperty("state").GetString() == "free"), node.GetProperty("free_gpus").GetInt32());
        var held = Assert.Single(gpus, g => g.GetProperty("state").GetString() == "held");
        Assert.Equal(id, held.GetProperty("deploy_id").GetString());
        Assert.Equal("nora", held.GetProperty("owner").GetString());
        Assert.Equal("nora/held", held.GetProperty("model").GetString());
        Assert.Equal(instanceId, held.GetProperty("instance_id").GetString());
        Assert.Equal("A100-80GB", held.GetProperty("type").GetString());
        Assert.All(gpus.Where(g => g.GetProperty("state").GetString() == "free"),
            g => Assert.Equal(JsonValueKind.Null, g.GetProperty("deploy_id").ValueKind));

        // Stopped: the GPU is free again.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/deploy/{id}/stop", null)).StatusCode);
        await Eventually.TrueAsync(async () =>
        {
            var a = await admin.GetFromJsonAsync<JsonElement>("/admin/nodes");
            return a.GetProperty("nodes").EnumerateArray().SelectMany(n => n.GetProperty("gpus").EnumerateArray())
                .All(g => g.GetProperty("state").GetString() == "free");
        }, TimeSpan.FromSeconds(30), "every GPU free after the stop");
    }
}
