using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Tests.EndToEnd;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Both ways of reaching engines (<see cref="EngineForwarding"/>) over the whole system: answers whole and
/// streamed, and refusals retried unseen. The other gateway tests run the default (YARP).</summary>
[Collection(SystemCollection.Name)]
public sealed class EngineForwardingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(EngineForwarding.Raw)]
    [InlineData(EngineForwarding.Yarp)]
    public async Task Answers_whole_and_streamed_and_hides_refusals(EngineForwarding forwarding)
    {
        // The worker takes 2 at once while the deployment says 4: the gateway sends extras, the worker refuses them.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 200,
            new Dictionary<string, string> { ["DeepDeploy:Inference:Forwarding"] = forwarding.ToString() }, workerArgs: "--max-batch-size 2");
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "fwd", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.LaneAsync(system, "alice/fwd", instances: 1);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/fwd", 8));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(), Refused: response.Headers.Contains("X-DeepDeploy-Refused"));
        }));
        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Body));
        Assert.All(responses, r => Assert.False(r.Refused));
        Assert.All(responses, r => Assert.Equal(8, JsonDocument.Parse(r.Body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32()));
        var endpoint = Assert.Single(GatewaySystem.Instances(system, deployId)).Endpoint!;
        var refused = await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_refused_total");
        output.WriteLine($"{forwarding}: the worker refused {refused} attempts; every client got 200");
        Assert.True(refused > 0, "expected the worker to refuse work beyond its own limit");

        using var streamed = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/fwd", 5, stream: true));
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1].Trim());
        Assert.True(events.Length >= 6, string.Join(" | ", events));
    }
}
