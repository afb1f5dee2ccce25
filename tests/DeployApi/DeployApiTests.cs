using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.DeployApi;

/// <summary>Every deploy API call and rule through real HTTP against the real system.</summary>
[Collection(SystemCollection.Name)]
public sealed class DeployApiTests
{
    [Fact]
    public async Task Put_changes_settings_only_and_refuses_everything_else_by_name()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("erin"));
        var id = Id(await CreateAsync(client, Tiny("scaled", min: 0, max: 1)));

        // DeepInfra's own PUT example, trailing comma included.
        var put = await client.PutAsync($"/deploy/{id}", Json("""
            {
                "settings": {
                    "min_instances": 2,
                    "max_instances": 2,
                }
            }
            """));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var updated = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, updated.GetProperty("settings").GetProperty("min_instances").GetInt32());
        Assert.Equal(2, updated.GetProperty("settings").GetProperty("max_instances").GetInt32());
        var two = await RunningSystem.WaitForAsync(client, id, d => Running(d) == 2, TimeSpan.FromSeconds(60));
        Assert.Equal("running", Status(two));

        // Only one of the two settings: the other keeps its value.
        var partial = await client.PutAsync($"/deploy/{id}", Json("""{"settings": {"min_instances": 1}}"""));
        var afterPartial = await partial.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, afterPartial.GetProperty("settings").GetProperty("min_instances").GetInt32());
        Assert.Equal(2, afterPartial.GetProperty("settings").GetProperty("max_instances").GetInt32());
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(30));
        await DeployAndChatTests.WaitUntilAsync(() => system.Agent.Instances.Count == 1, TimeSpan.FromSeconds(20));

        var immutable = await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"gpu": "H100-80GB", "settings": {"min_instances": 1}}""")),
            HttpStatusCode.BadRequest, "gpu");
        Assert.Equal("immutable_field", immutable.GetProperty("code").GetString());
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"hf": {"repo": "a/b"}}""")), HttpStatusCode.BadRequest, "hf");
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"settings": {"min_instances": 3}}""")), HttpStatusCode.BadRequest, "settings.max_instances");
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"settings": {"min": 3}}""")), HttpStatusCode.BadRequest, "settings.min");
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"settings": {"max_instances": "many"}}""")), HttpStatusCode.BadRequest, "settings.max_instances");
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{}""")), HttpStatusCode.BadRequest, "settings");

        // Refused calls changed nothing.
        var after = await client.GetFromJsonAsync<JsonElement>($"/deploy/{id}");
        Assert.Equal("A100-80GB", after.GetProperty("config").GetProperty("gpu").GetString());
        Assert.Equal(1, after.GetProperty("settings").GetProperty("min_instances").GetInt32());
        Assert.Equal(2, after.GetProperty("settings").GetProperty("max_instances").GetInt32());

        await AssertErrorAsync(await client.PutAsync("/deploy/nosuchdeployment", Json("""{"settings": {"min_instances": 1}}""")), HttpStatusCode.NotFound, "deploy_id");
    }

    [Fact]
    public async Task Stop_keeps_the_deployment_and_start_runs_it_again()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("frank"));
        var id = Id(await CreateAsync(client, Tiny("pausable")));
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        var process = Assert.Single(system.Agent.Instances).Process!;

        var stopped = await client.PostAsync($"/deploy/{id}/stop", null);
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Equal("stopped", Status(await stopped.Content.ReadFromJsonAsync<JsonElement>()));
        await DeployAndChatTests.WaitUntilAsync(() => process.HasExited, TimeSpan.FromSeconds(20));
        var view = await client.GetFromJsonAsync<JsonElement>($"/deploy/{id}");
        Assert.Equal("stopped", Status(view));
        Assert.Equal(0, Running(view));
        Assert.Equal(0, Pending(view));

        // A stopped deployment keeps its name and shows in the list under its status.
        var stoppedList = await client.GetFromJsonAsync<JsonElement>("/deploy/list?status=stopped");
        Assert.Equal(id, Id(Assert.Single(stoppedList.EnumerateArray())));
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("pausable")), HttpStatusCode.Conflict, "model_name");
        var chat = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "frank/pausable", prompt = "hi", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);

        var started = await client.PostAsync($"/deploy/{id}/start", null);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        await RunningSystem.WaitForAsync(client, id, d => Status(d) == "running" && Running(d) == 1, TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/deploy/nosuch/stop", null)).StatusCode);
    }

    [Fact]
    public async Task Names_validation_and_gpu_availability()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("gina"));

        // Short or own full name; another user's prefix, bad characters and over-long names are refused.
        var full = await CreateAsync(client, Tiny("gina/full-name", min: 0));
        Assert.Equal("gina/full-name", full.GetProperty("model_name").GetString());
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("gina/full-name", min: 0)), HttpStatusCode.Conflict, "model_name");
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("full-name", min: 0)), HttpStatusCode.Conflict, "model_name");
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("other/full-name", min: 0)), HttpStatusCode.BadRequest, "model_name");
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("bad name!", min: 0)), HttpStatusCode.BadRequest, "model_name");
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny(new string('x', 65), min: 0)), HttpStatusCode.BadRequest, "model_name");
        // After a delete the name is free again.
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{Id(full)}")).StatusCode);
        await CreateAsync(client, Tiny("full-name", min: 0));

        // Sizes: no node holds 5 of a kind (the simulated node has 4 × A100 and 4 × H100).
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("big", numGpus: 5, min: 0)), HttpStatusCode.BadRequest, "num_gpus");
        // A catalogue type no node offers yet is accepted and waits for such a node.
        var l4 = Id(await CreateAsync(client, Tiny("l4", gpu: "L4-24GB")));
        var waiting = await Eventually.MatchAsync(() => client.GetFromJsonAsync<JsonElement>($"/deploy/{l4}"),
            d => Status(d) == "deploying", TimeSpan.FromSeconds(30), "deploying, waiting for an L4 node");
        Assert.Equal(1, Pending(waiting));
        foreach (var (json, field) in new[]
                 {
                     ("""{"model_name":"m","gpu":"A100-80GB","max_batch_size":0,"hf":{"repo":"a/b"}}""", "max_batch_size"),
                     ("""{"model_name":"m","gpu":"A100-80GB","max_batch_size":257,"hf":{"repo":"a/b"}}""", "max_batch_size"),
                     ("""{"model_name":"m","gpu":"A100-80GB","num_gpus":0,"hf":{"repo":"a/b"}}""", "num_gpus"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"settings":{"min_instances":-1}}""", "settings.min_instances"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"settings":{"max_instances":0}}""", "settings.max_instances"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"settings":[]}""", "settings"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"extra_args":[1]}""", "extra_args"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b","branch":"x"}}""", "hf.branch"),
                     ("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b","revision":"../x"}}""", "hf.revision"),
                     ("""{"model_name":"m","gpu":"A100-80GB"}""", "hf"),
                     ("""{"gpu":"A100-80GB","hf":{"repo":"a/b"}}""", "model_name"),
                     ("""[1,2]""", "body"),
                 })
        {
            await AssertErrorAsync(await client.PostAsync("/deploy/llm", Json(json)), HttpStatusCode.BadRequest, field);
        }

        var huge = "{\"model_name\":\"m\",\"gpu\":\"A100-80GB\",\"hf\":{\"repo\":\"a/b\"},\"extra_args\":[\"" + new string('a', 70_000) + "\"]}";
        await AssertErrorAsync(await client.PostAsync("/deploy/llm", Json(huge)), HttpStatusCode.RequestEntityTooLarge, "body");
        await AssertErrorAsync(await client.GetAsync("/deploy/list?status=running,sleeping"), HttpStatusCode.BadRequest, "status");

        // Availability: price per hour scales with the GPUs; 5+ GPU configs do not exist on 4-GPU nodes.
        var availability = await client.GetFromJsonAsync<JsonElement>("/deploy/llm/gpu_availability");
        var configs = availability.GetProperty("gpus").EnumerateArray().ToDictionary(c => c.GetProperty("gpu_config").GetString()!);
        Assert.Equal(2.00m, configs["1xA100-80GB"].GetProperty("usd_per_hour").GetDecimal());
        Assert.Equal(8.00m, configs["4xA100-80GB"].GetProperty("usd_per_hour").GetDecimal());
        Assert.True(configs["4xA100-80GB"].GetProperty("available").GetBoolean());
        Assert.Equal(4, configs["1xH100-80GB"].GetProperty("free_gpus").GetInt32());
        Assert.False(configs.ContainsKey("8xA100-80GB"));
        Assert.False(configs["1xL4-24GB"].GetProperty("available").GetBoolean());
    }

    [Fact]
    public async Task Users_are_isolated_and_the_operator_sees_all()
    {
        await using var system = await RunningSystem.StartAsync();
        using var owner = system.Client(await system.CreateUserAsync("hank"));
        using var other = system.Client(await system.CreateUserAsync("iris"));
        using var admin = system.Client(RunningSystem.AdminToken);
        var id = Id(await CreateAsync(owner, Tiny("private", min: 0)));

        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/deploy/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PutAsync($"/deploy/{id}", Json("""{"settings":{"min_instances":0}}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/deploy/{id}/stop", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.DeleteAsync($"/deploy/{id}")).StatusCode);
        Assert.Equal(0, (await other.GetFromJsonAsync<JsonElement>("/deploy/list")).GetArrayLength());
        var infer = await other.PostAsJsonAsync("/v1/openai/completions", new { model = "hank/private", prompt = "x" });
        Assert.Equal(HttpStatusCode.NotFound, infer.StatusCode);
        // min_instances 0: running once its control loop has run, which may be just after the create answered.
        await SystemHttp.WaitForDeploymentAsync(owner, id, d => Status(d) == "running", TimeSpan.FromSeconds(30));

        Assert.Equal(id, Id(await admin.GetFromJsonAsync<JsonElement>($"/deploy/{id}")));
        Assert.Single((await admin.GetFromJsonAsync<JsonElement>("/deploy/list")).EnumerateArray());
        var users = await admin.GetFromJsonAsync<JsonElement>("/admin/users");
        Assert.Equal(["hank", "iris"], users.EnumerateArray().Select(u => u.GetProperty("name").GetString()).Order());
        await AssertErrorAsync(await admin.PostAsJsonAsync("/admin/users", new { name = "hank" }), HttpStatusCode.Conflict, "name");
        await AssertErrorAsync(await admin.PostAsJsonAsync("/admin/users", new { name = "no spaces" }), HttpStatusCode.BadRequest, "name");
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/nobody/quota", new { gpu_limit = 2 }), HttpStatusCode.NotFound, "name");
        await AssertErrorAsync(await admin.PutAsJsonAsync("/admin/users/hank/quota", new { gpu_limit = -1 }), HttpStatusCode.BadRequest, "gpu_limit");
        await AssertErrorAsync(await owner.PutAsJsonAsync("/admin/users/hank/quota", new { gpu_limit = 99 }), HttpStatusCode.Forbidden, null);
        await AssertErrorAsync(await admin.PostAsJsonAsync("/deploy/llm", Tiny("x")), HttpStatusCode.Forbidden, null);

        var me = await owner.GetFromJsonAsync<JsonElement>("/v1/me");
        Assert.Equal("hank", me.GetProperty("name").GetString());
        Assert.Equal(4, me.GetProperty("gpu_limit").GetInt32());
    }

    [Fact]
    public async Task The_api_is_described_by_an_openapi_document_and_a_page()
    {
        await using var system = await RunningSystem.StartAsync();
        using var anonymous = system.Client(null);
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/deploy/llm", "/deploy/list", "/deploy/{deployId}", "/deploy/{deployId}/stop", "/deploy/{deployId}/start",
                     "/deploy/llm/gpu_availability", "/admin/users", "/admin/users/{name}/quota", "/admin/nodes", "/v1/me", "/v1/openai/chat/completions" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }

        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("DeployBody").GetProperty("properties").TryGetProperty("max_batch_size", out _));
        var page = await anonymous.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("swagger", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }
}
