using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using OpenAI;
using OpenAI.Chat;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The inference API's shapes: the official OpenAI .NET SDK against the gateway, and DeepInfra's native
/// text-generation API. Workers run the fake engine (test double), so the texts are canned words.</summary>
[Collection(SystemCollection.Name)]
public sealed class InferenceApiTests
{
    [Fact]
    public async Task The_official_OpenAI_SDK_chats_completes_and_streams_through_the_gateway()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 500);
        var token = await system.CreateUserAsync("alice");
        using var http = system.Client(token);
        await GatewaySystem.DeployAsync(http, "sdk", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.LaneAsync(system, "alice/sdk", 1);
        var options = new OpenAIClientOptions { Endpoint = new Uri(system.BaseAddress, "/v1/openai") };
        var openai = new OpenAIClient(new ApiKeyCredential(token), options);

        // Chat completion.
        var chat = openai.GetChatClient("alice/sdk");
        ChatCompletion completion = await chat.CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Hello!")],
            new ChatCompletionOptions { MaxOutputTokenCount = 7, Temperature = 0 });
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal("alice/sdk", completion.Model);

        // Streaming chat: deltas, then the usage in the last chunk.
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var chunks = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Stream, please")],
                           new ChatCompletionOptions { MaxOutputTokenCount = 9 }))
        {
            chunks++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(chunks >= 9, $"expected one chunk per token, got {chunks}");
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(9, usage?.OutputTokenCount);

        // Text completion: OpenAI 2.15 keeps its legacy completions client internal, so the request goes through
        // the SDK's own pipeline (its authentication, retries and transport) to /completions.
        using var message = chat.Pipeline.CreateMessage();
        message.Request.Method = "POST";
        message.Request.Uri = new Uri(options.Endpoint + "/completions");
        message.Request.Headers.Set("Content-Type", "application/json");
        message.Request.Content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { model = "alice/sdk", prompt = "Once upon a time", max_tokens = 5 }));
        await chat.Pipeline.SendAsync(message);
        Assert.Equal(200, message.Response!.Status);
        var body = JsonDocument.Parse(message.Response.Content).RootElement;
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(5, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("choices")[0].GetProperty("text").GetString()));

        // Errors keep the SDK's semantics: an unknown model is a 404 the SDK raises.
        var missing = await Assert.ThrowsAsync<ClientResultException>(() =>
            openai.GetChatClient("alice/nope").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task The_native_inference_API_translates_requests_answers_and_streams()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 500);
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        await GatewaySystem.DeployAsync(client, "native", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.LaneAsync(system, "alice/native", 1);

        using (var response = await client.PostAsJsonAsync("/v1/inference/alice/native", new { input = "Hello", max_new_tokens = 6, temperature = 0 }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("results")[0].GetProperty("generated_text").GetString()));
            Assert.Equal(6, body.GetProperty("num_tokens").GetInt32());
            Assert.True(body.GetProperty("num_input_tokens").GetInt32() > 0);
            Assert.StartsWith("req-", body.GetProperty("request_id").GetString());
            var status = body.GetProperty("inference_status");
            Assert.Equal("succeeded", status.GetProperty("status").GetString());
            Assert.True(status.GetProperty("runtime_ms").GetInt64() >= 0);
            Assert.Equal(0, status.GetProperty("cost").GetDouble());
            Assert.Equal(6, status.GetProperty("tokens_generated").GetInt32());
        }

        // Stop strings are honoured (the fake engine's words cycle: " lorem ipsum dolor ...").
        using (var response = await client.PostAsJsonAsync("/v1/inference/alice/native", new { input = "Hi", max_new_tokens = 50, stop = new[] { "amet" } }))
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var text = body.GetProperty("results")[0].GetProperty("generated_text").GetString()!;
            Assert.DoesNotContain("amet", text);
            Assert.True(body.GetProperty("num_tokens").GetInt32() < 50);
        }

        // Streaming: one event per token, the last with the whole text, details and status, then [DONE].
        var (ok, events, error) = await GatewaySystem.StreamAsync(client, "/v1/inference/alice/native", new { input = "Hello", max_new_tokens = 4, stream = true });
        Assert.True(ok, error);
        Assert.Equal("[DONE]", events[^1]);
        var tokens = events.SkipLast(2).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal(4, tokens.Count);
        Assert.All(tokens, t => Assert.Equal(JsonValueKind.Null, t.GetProperty("generated_text").ValueKind));
        var last = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal(string.Concat(tokens.Select(t => t.GetProperty("token").GetProperty("text").GetString())), last.GetProperty("generated_text").GetString());
        Assert.Equal("length", last.GetProperty("details").GetProperty("finish_reason").GetString());
        Assert.Equal(4, last.GetProperty("details").GetProperty("generated_tokens").GetInt32());
        Assert.Equal(4, last.GetProperty("num_tokens").GetInt32());
        Assert.Equal("succeeded", last.GetProperty("inference_status").GetProperty("status").GetString());

        // Bad input names the field; another user's model is not found.
        using (var bad = await client.PostAsJsonAsync("/v1/inference/alice/native", new { input = "x", max_tokens = 3 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("max_tokens", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("field").GetString());
        }

        using (var bad = await client.PostAsJsonAsync("/v1/inference/alice/native", new { max_new_tokens = 3 }))
        {
            Assert.Equal("input", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("field").GetString());
        }

        var bobToken = await system.CreateUserAsync("bob");
        using var bob = system.Client(bobToken);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsJsonAsync("/v1/inference/alice/native", new { input = "x" })).StatusCode);
    }
}
