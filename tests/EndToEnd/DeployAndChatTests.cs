using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.EndToEnd;

[Collection(SystemCollection.Name)]
public sealed class DeployAndChatTests(ITestOutputHelper output)
{
    static object TinyDeployment(string name, int maxBatchSize = 4) => new
    {
        model_name = name,
        gpu = "A100-80GB",
        num_gpus = 1,
        max_batch_size = maxBatchSize,
        hf = new { repo = "deepdeploy/tiny-llama-gguf" },
        settings = new { min_instances = 1, max_instances = 1 },
    };

    [Fact]
    public async Task Deploy_chat_stream_batch_and_delete_through_the_gateway()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);

        var clock = Stopwatch.StartNew();
        var created = await client.PostAsJsonAsync("/deploy/llm", TinyDeployment("tiny"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var deploy = await created.Content.ReadFromJsonAsync<JsonElement>();
        var deployId = deploy.GetProperty("deploy_id").GetString()!;
        Assert.Equal("alice/tiny", deploy.GetProperty("model_name").GetString());
        Assert.Equal("initializing", deploy.GetProperty("status").GetString());

        var running = await RunningSystem.WaitForAsync(client, deployId, d => d.GetProperty("status").GetString() == "running"
            && d.GetProperty("instances").GetProperty("running").GetInt32() == 1, TimeSpan.FromSeconds(90));
        output.WriteLine($"POST /deploy/llm → running: {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, running.GetProperty("instances").GetProperty("pending").GetInt32());
        Assert.Equal(4, running.GetProperty("config").GetProperty("max_batch_size").GetInt32());

        // Deterministic engine output: the same prompt at temperature 0 gives the same tokens twice.
        var first = await ChatAsync(client, "Hello there", 24);
        var second = await ChatAsync(client, "Hello there", 24);
        var text = first.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
        Assert.False(string.IsNullOrEmpty(text));
        Assert.Equal(text, second.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("alice/tiny", first.GetProperty("model").GetString());
        Assert.True(first.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.True(first.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);

        // Streaming passes through: several SSE chunks, then [DONE].
        var stream = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "alice/tiny",
                messages = new[] { new { role = "user", content = "Tell me a story" } },
                max_tokens = 16,
                temperature = 0,
                stream = true,
            }),
        }, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var events = (await stream.Content.ReadAsStringAsync())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Trim())
            .ToList();
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.True(events.Count >= 4, $"expected several chunks, got {events.Count}");
        Assert.Equal("data: [DONE]", events[^1]);

        // Four concurrent requests are served together by the one worker (max_batch_size 4).
        var instance = Assert.Single(system.Agent.Instances);
        var batch = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => ChatAsync(client, $"Request number {i}", 200)));
        Assert.All(batch, b => Assert.True(b.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0));
        var metrics = await new HttpClient().GetStringAsync(instance.Endpoint + "/metrics");
        Assert.Equal(4, DeepDeploy.Node.Engines.EngineCommand.ReadLoad(metrics, ["deepdeploy_worker_requests_running_peak"]));

        // Delete: the deployment is gone from the API and its worker process is gone from the machine.
        var process = instance.Process!;
        var deleted = await client.DeleteAsync($"/deploy/{deployId}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/deploy/{deployId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/deploy/{deployId}")).StatusCode);
        await Eventually.TrueAsync(() => process.HasExited, TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => system.Agent.Instances.Count == 0, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task The_seed_body_with_its_trailing_comma_is_accepted_and_an_unknown_repo_fails_cleanly()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("ichernev");
        using var client = system.Client(token);

        // Byte for byte the body of the DeepInfra docs' curl example.
        const string seed = """
            {
                "model_name": "test-model",
                "gpu": "A100-80GB",
                "num_gpus": 2,
                "max_batch_size": 64,
                "hf": {
                    "repo": "meta-llama/Llama-2-7b-chat-hf"
                },
                "settings": {
                    "min_instances": 0,
                    "max_instances": 1,
                }
            }
            """;
        var response = await client.PostAsync("/deploy/llm", new StringContent(seed, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var deploy = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ichernev/test-model", deploy.GetProperty("model_name").GetString());
        Assert.Equal(2, deploy.GetProperty("config").GetProperty("num_gpus").GetInt32());
        Assert.Equal(0, deploy.GetProperty("settings").GetProperty("min_instances").GetInt32());

        var failed = await RunningSystem.WaitForAsync(client, deploy.GetProperty("deploy_id").GetString()!,
            d => d.GetProperty("status").GetString() == "failed", TimeSpan.FromSeconds(30));
        var reason = failed.GetProperty("fail_reason").GetString()!;
        Assert.Equal("weights repo 'meta-llama/Llama-2-7b-chat-hf': repository not found or not accessible", reason);
    }

    [Fact]
    public async Task Bad_input_gets_a_4xx_naming_the_field_and_creates_nothing()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("bob");
        using var client = system.Client(token);

        using var anonymous = system.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/deploy/list")).StatusCode);
        using var wrong = system.Client("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/deploy/list")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/admin/users", new { name = "mallory" })).StatusCode);

        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"Z80-1GB","hf":{"repo":"a/b"}}""", "gpu");
        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"A100-80GB","num_gpus":9,"hf":{"repo":"a/b"}}""", "num_gpus");
        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"A100-80GB","num_gpus":"two","hf":{"repo":"a/b"}}""", "num_gpus");
        await AssertFieldErrorAsync(client, """{"model_name":"carol/m","gpu":"A100-80GB","hf":{"repo":"a/b"}}""", "model_name");
        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"not a repo"}}""", "hf.repo");
        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"settings":{"min_instances":2,"max_instances":1}}""", "settings.max_instances");
        await AssertFieldErrorAsync(client, """{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"max_batch":4}""", "max_batch");
        await AssertFieldErrorAsync(client, """{"model_name":"m",""", "body");

        var list = await client.GetFromJsonAsync<JsonElement>("/deploy/list");
        Assert.Equal(0, list.GetArrayLength());
    }

    static async Task AssertFieldErrorAsync(HttpClient client, string body, string field)
    {
        var response = await client.PostAsync("/deploy/llm", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    static async Task<JsonElement> ChatAsync(HttpClient client, string prompt, int maxTokens)
    {
        var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", new
        {
            model = "alice/tiny",
            messages = new[] { new { role = "user", content = prompt } },
            max_tokens = maxTokens,
            temperature = 0,
        });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    // Kept for the tests of other folders that still call it; Eventually is the one polling helper.
    internal static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => Eventually.TrueAsync(condition, timeout);
}
