using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.Security;

/// <summary>Per-user limits set by the operator (live deployments; inference requests, request bytes and cold-start holds at a
/// gateway), and create refusing what no node would run.</summary>
[Collection(SystemCollection.Name)]
public sealed class LimitsTests
{
    [Fact]
    public async Task A_user_at_their_deployment_limit_is_refused_until_one_is_deleted()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("capped"));
        using var admin = system.Client(RunningSystem.AdminToken);
        Assert.Equal(10, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("max_deployments").GetInt32());

        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/capped/quota", new { max_deployments = -1 }), HttpStatusCode.BadRequest, "max_deployments");
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/capped/quota", new { max_concurrent_requests = 100_001 }), HttpStatusCode.BadRequest, "max_concurrent_requests");
        await AssertErrorAsync(await admin.PutAsync("/admin/users/capped/quota", Json("{}")), HttpStatusCode.BadRequest, "gpu_limit");
        var set = await admin.PutAsJsonAsync("/admin/users/capped/quota", new { max_deployments = 2 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var view = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, view.GetProperty("max_deployments").GetInt32());
        Assert.Equal(4, view.GetProperty("gpu_limit").GetInt32()); // unchanged when absent

        var first = Id(await CreateAsync(client, Tiny("one", min: 0)));
        await CreateAsync(client, Tiny("two", min: 0));
        var refused = await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("three", min: 0)), HttpStatusCode.Forbidden, null);
        Assert.Equal("deployment_limit_reached", refused.GetProperty("code").GetString());
        Assert.Contains("max_deployments", refused.GetProperty("message").GetString());
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("live_deployments").GetInt32());

        // Concurrent creates cannot pass the limit together: the user's grain serialises the claims.
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{first}")).StatusCode);
        var burst = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.PostAsJsonAsync("/deploy/llm", Tiny($"burst-{i}", min: 0))));
        Assert.Single(burst, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(burst.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("live_deployments").GetInt32());
    }

    [Fact]
    public async Task Extra_args_no_node_engine_allows_are_a_400_at_create_naming_the_flag()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("flags"));

        // The system's node runs GGUF on the built-in worker only, which takes no extra_args.
        var body = new { model_name = "rce", gpu = "A100-80GB", hf = new { repo = TinyRepo }, extra_args = new[] { "--trust-remote-code" } };
        var error = await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", body), HttpStatusCode.BadRequest, "extra_args");
        Assert.Equal("extra_args_not_allowed", error.GetProperty("code").GetString());
        Assert.Contains("'--trust-remote-code'", error.GetProperty("message").GetString());
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("live_deployments").GetInt32());
        await CreateAsync(client, Tiny("plain", min: 0));
    }

    [Fact]
    public async Task Requests_beyond_the_users_concurrency_limit_get_429_and_the_slots_come_back()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 5);
        using var client = system.Client(await system.CreateUserAsync("busy"));
        using var admin = system.Client(RunningSystem.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/users/busy/quota", new { max_concurrent_requests = 2 })).StatusCode);
        await GatewaySystem.DeployAsync(client, "slow", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);

        // Two long streams hold the user's two slots.
        var held = new List<HttpResponseMessage>();
        for (var i = 0; i < 2; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = JsonContent.Create(GatewaySystem.Chat("busy/slow", 500, stream: true)) };
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            held.Add(response);
        }

        var third = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("busy/slow", 1));
        var error = await AssertErrorAsync(third, HttpStatusCode.TooManyRequests, null);
        Assert.Equal("concurrency_limit_reached", error.GetProperty("code").GetString());
        Assert.Contains("max_concurrent_requests", error.GetProperty("message").GetString());
        Assert.NotNull(third.Headers.RetryAfter);
        var native = await client.PostAsJsonAsync("/v1/inference/busy/slow", new { input = "hi", max_new_tokens = 1 });
        await AssertErrorAsync(native, HttpStatusCode.TooManyRequests, null);

        // Ending the streams (client gone) releases the slots.
        foreach (var response in held)
        {
            response.Dispose();
        }

        await Eventually.TrueAsync(async () => (await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("busy/slow", 1))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20), "a request admitted once the held streams ended");
    }

    /// <summary>A chat body of about <paramref name="bytes"/> bytes, with a Content-Length.</summary>
    static StringContent Padded(string model, int bytes, bool stream) =>
        Json(JsonSerializer.Serialize(new
        {
            model,
            messages = new[] { new { role = "user", content = new string('x', bytes - 120) } },
            max_tokens = stream ? 500 : 1,
            stream,
        }));

    [Fact]
    public async Task Request_bodies_held_beyond_the_users_byte_limit_get_429_and_one_body_over_it_413()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 5);
        using var client = system.Client(await system.CreateUserAsync("bulky"));
        using var admin = system.Client(RunningSystem.AdminToken);
        var me = await client.GetFromJsonAsync<JsonElement>("/v1/me");
        Assert.Equal((64L * 1024 * 1024, 32), (me.GetProperty("max_request_bytes").GetInt64(), me.GetProperty("max_cold_start_requests").GetInt32()));
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/bulky/quota", new { max_request_bytes = -1 }), HttpStatusCode.BadRequest, "max_request_bytes");
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/bulky/quota", new { max_request_bytes = (1L << 40) + 1 }), HttpStatusCode.BadRequest, "max_request_bytes");
        var set = await admin.PutAsJsonAsync("/admin/users/bulky/quota", new { max_request_bytes = 5000 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(5000, (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("max_request_bytes").GetInt64());
        await GatewaySystem.DeployAsync(client, "slow", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);

        var huge = await client.PostAsync("/v1/openai/chat/completions", Padded("bulky/slow", 6000, stream: false));
        var tooLarge = await AssertErrorAsync(huge, HttpStatusCode.RequestEntityTooLarge, "body");
        Assert.Equal("request_bytes_limit_reached", tooLarge.GetProperty("code").GetString());
        Assert.Contains("max_request_bytes", tooLarge.GetProperty("message").GetString());

        // Two streams hold 4000 of the user's 5000 bytes while they run.
        var held = new List<HttpResponseMessage>();
        for (var i = 0; i < 2; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = Padded("bulky/slow", 2000, stream: true) };
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            held.Add(response);
        }

        var third = await client.PostAsync("/v1/openai/chat/completions", Padded("bulky/slow", 2000, stream: false));
        var error = await AssertErrorAsync(third, HttpStatusCode.TooManyRequests, null);
        Assert.Equal("request_bytes_limit_reached", error.GetProperty("code").GetString());
        Assert.Contains("max_request_bytes", error.GetProperty("message").GetString());
        Assert.NotNull(third.Headers.RetryAfter);

        // Without a Content-Length (chunked) the body counts once read.
        var body = JsonContent.Create(new { model = "bulky/slow", messages = new[] { new { role = "user", content = new string('x', 2000) } }, max_tokens = 1 });
        Assert.Null(body.Headers.ContentLength);
        var chunked = await client.PostAsync("/v1/openai/chat/completions", body);
        Assert.Equal("request_bytes_limit_reached", (await AssertErrorAsync(chunked, HttpStatusCode.TooManyRequests, null)).GetProperty("code").GetString());

        foreach (var response in held)
        {
            response.Dispose();
        }

        await Eventually.TrueAsync(async () => (await client.PostAsync("/v1/openai/chat/completions", Padded("bulky/slow", 2000, stream: false))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20), "a request admitted once the held streams ended");
    }

    [Fact]
    public async Task Requests_held_for_a_cold_start_beyond_the_users_limit_get_429_and_come_back_when_they_end()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 5);
        using var client = system.Client(await system.CreateUserAsync("eager"));
        using var admin = system.Client(RunningSystem.AdminToken);
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/eager/quota", new { max_cold_start_requests = 100_001 }), HttpStatusCode.BadRequest, "max_cold_start_requests");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/users/eager/quota", new { max_cold_start_requests = 2 })).StatusCode);

        // No node offers L4 GPUs: the deployment never gets an instance, so its requests are held for a cold start.
        await CreateAsync(client, Tiny("cold", gpu: "L4-24GB", min: 0));
        var lane = await GatewaySystem.LaneAsync(system, "eager/cold", instances: 0);
        using var cancel = new CancellationTokenSource();
        var waiting = Enumerable.Range(0, 2).Select(_ => client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("eager/cold", 1), cancel.Token)).ToList();
        await Eventually.TrueAsync(() => Task.FromResult(lane.Waiting == 2),
            TimeSpan.FromSeconds(20), "two requests held");

        var third = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("eager/cold", 1));
        var error = await AssertErrorAsync(third, HttpStatusCode.TooManyRequests, null);
        Assert.Equal("cold_start_queue_full", error.GetProperty("code").GetString());
        Assert.Contains("max_cold_start_requests", error.GetProperty("message").GetString());
        Assert.NotNull(third.Headers.RetryAfter);

        // The held requests' clients give up: their places come back, and a new request is held again.
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(waiting));
        await Eventually.TrueAsync(() => Task.FromResult(lane.Waiting == 0),
            TimeSpan.FromSeconds(20), "the held requests gone");
        await Eventually.TrueAsync(() => IsHeldAsync(client, lane), TimeSpan.FromSeconds(20), "a new request held once the others ended");
    }

    /// <summary>Whether a new request to the cold deployment is held (then given up) rather than refused.</summary>
    static async Task<bool> IsHeldAsync(HttpClient client, DeploymentLane lane)
    {
        using var cancel = new CancellationTokenSource();
        var request = client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("eager/cold", 1), cancel.Token);
        await Eventually.TrueAsync(() => Task.FromResult(lane.Waiting == 1 || request.IsCompleted), TimeSpan.FromSeconds(20), "the request held or answered");
        if (request.IsCompleted)
        {
            var refused = await AssertErrorAsync(await request, HttpStatusCode.TooManyRequests, null);
            Assert.Equal("cold_start_queue_full", refused.GetProperty("code").GetString());
            return false;
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        return true;
    }
}
