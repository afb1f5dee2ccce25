using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;

namespace DeepDeploy.Tests.Security;

/// <summary>The whole system: the node gives each instance a secret, the gateway presents it, a direct caller
/// without it is refused, and no API answer shows it.</summary>
[Collection(SystemCollection.Name)]
public sealed class InternalAuthSystemTests
{
    [Fact]
    public async Task Only_the_gateway_can_use_an_instance_and_no_answer_shows_its_secret()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "tiny", maxBatchSize: 2, minInstances: 1, maxInstances: 1, running: 1);

        // Through the gateway: the caller's token stays behind, the instance's secret goes along.
        var chat = await client.PostAsJsonAsync("/v1/openai/chat/completions",
            new { model = "alice/tiny", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        var instance = Assert.Single(system.Agent.Instances);
        using var direct = new HttpClient { BaseAddress = new Uri(instance.Endpoint!) };
        HttpRequestMessage Completion(string? bearer)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 }),
            };
            request.Headers.Authorization = bearer is null ? null : new AuthenticationHeaderValue("Bearer", bearer);
            return request;
        }

        // A tenant who learned the worker's address, with or without a gateway token, is refused.
        foreach (var bearer in new[] { null, token, RunningSystem.AdminToken })
        {
            using var refused = await direct.SendAsync(Completion(bearer));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var accepted = await direct.SendAsync(Completion(instance.Secret)))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        // The gateway got it inside the route (its chat above was accepted); the owner's views do not show it.
        var logs = await client.GetStringAsync($"/deploy/{deployId}/logs?lines=1000");
        Assert.Contains("--api-key ***", logs);
        Assert.DoesNotContain(instance.Secret, logs);
        Assert.DoesNotContain(instance.Secret, await client.GetStringAsync($"/deploy/{deployId}"));
        Assert.DoesNotContain(instance.Secret, await client.GetStringAsync("/deploy/list"));
    }
}
