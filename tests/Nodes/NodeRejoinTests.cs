using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Nodes;

/// <summary>The real node agent whose lease expired while it kept running (a stall, a cut network): it stops the
/// engine its deployment already replaced and registers again, and no GPU is held twice.</summary>
[Collection(SystemCollection.Name)]
public sealed class NodeRejoinTests
{
    const string Node = "test-node";

    [Fact]
    public async Task A_node_back_after_its_lease_expired_stops_its_stale_engine_and_registers_again_with_its_GPUs_free()
    {
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Node:ReportInterval"] = "00:00:02",
        });
        var token = await system.CreateUserAsync("ivan");
        using var client = system.Client(token);
        var created = await client.PostAsJsonAsync("/deploy/llm", new
        {
            model_name = "comeback",
            gpu = "A100-80GB",
            max_batch_size = 2,
            hf = new { repo = "deepdeploy/tiny-llama-gguf" },
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
        await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
        var stale = Assert.Single(system.Agent.Instances);
        var stalePid = stale.Process!.Id;

        // A stall, as the registry sees it: a report with a lease too short for the agent's next report to renew.
        var grains = system.Services.GetRequiredService<IGrainFactory>();
        var registry = grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        await Eventually.TrueAsync(async () => !await registry.Report(Node, TimeSpan.FromMilliseconds(1)), TimeSpan.FromSeconds(30), "the node's lease expired");

        // The agent learns it at its next report: the stale engine stops, the node registers, the deployment places anew.
        await Eventually.TrueAsync(() => !EnginePids.IsAlive(stalePid), TimeSpan.FromSeconds(30), "the stale engine stopped");
        await Eventually.TrueAsync(() => system.Agent.Instances.Any(i => i.Launch.InstanceId != stale.Launch.InstanceId && i.Process is not null),
            TimeSpan.FromSeconds(60), "a new instance on the node that registered again");
        await RunningSystem.WaitForAsync(client, deployId, SystemHttp.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
        var chat = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "ivan/comeback", prompt = "back", max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        var events = await grains.GetGrain<IEventLogGrain>(deployId).Read(null, 200);
        Assert.Contains(events.Events, e => e.Kind == DeploymentEventKind.Failed && e.InstanceId == stale.Launch.InstanceId && e.FailureReason == "node lease expired");
        Assert.True(await registry.Report(Node, TimeSpan.FromMinutes(1)));
        var node = (await registry.List()).Single(n => n.Node == Node);
        Assert.Equal(node.Total["A100-80GB"] - 1, node.Free["A100-80GB"]);
        Assert.Single(system.Agent.Instances);
    }
}
