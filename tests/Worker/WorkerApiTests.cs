using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Worker;

/// <summary>OpenAI API behaviour of a real worker process (shared by these tests; xunit runs them one at a time).</summary>
public sealed class WorkerApiTests(SharedWorkerFixture fixture, ITestOutputHelper output) : IClassFixture<SharedWorkerFixture>
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    HttpClient Http => fixture.Worker.Http;

    [Fact]
    public async Task Metrics_are_exported_under_the_protocol_names_as_plain_series()
    {
        var text = await Http.GetStringAsync("/metrics");
        var gauges = new[] { Metrics.RequestsRunning, Metrics.RequestsWaiting, Metrics.RequestsRunningPeak,
            Metrics.RequestsInFlight, Metrics.RequestsInFlightPeak };
        var counters = new[] { Metrics.RequestsRefused, Metrics.GeneratedTokens, Metrics.PromptTokens };
        foreach (var (name, type) in gauges.Select(g => (g, "gauge")).Concat(counters.Select(c => (c, "counter"))))
        {
            Assert.Contains($"# TYPE {name} {type}\n", text);
            Assert.NotNull(EngineCommand.ReadLoad(text, [name])); // the node agent's parser reads it
        }

        // The series the node agent sums for load: one sample, no labels.
        Assert.Matches($@"(?m)^{Metrics.RequestsInFlight}(\{{\}})? \d+$", text);
    }

    [Fact]
    public async Task Health_reports_model_and_batch_size()
    {
        var health = await fixture.Worker.WaitHealthyAsync();
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(SharedWorkerFixture.ServedName, health.GetProperty("model").GetString());
        Assert.Equal(4, health.GetProperty("max_batch_size").GetInt32());
    }

    [Fact]
    public async Task Chat_completion_at_temperature_zero_is_deterministic()
    {
        var request = WorkerApi.Chat("hello there, tell me about the world", maxTokens: 40);
        request["model"] = SharedWorkerFixture.ServedName;
        var (s1, b1) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", request);
        var (s2, b2) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", request);
        Assert.True(s1 == 200, b1.ToString());
        Assert.Equal(200, s2);

        Assert.StartsWith("chatcmpl-", b1.GetProperty("id").GetString());
        Assert.Equal("chat.completion", b1.GetProperty("object").GetString());
        Assert.Equal(SharedWorkerFixture.ServedName, b1.GetProperty("model").GetString());
        Assert.True(b1.GetProperty("created").GetInt64() > 1_600_000_000);
        var choice = b1.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());

        var text1 = WorkerApi.ChatText(b1);
        Assert.False(string.IsNullOrEmpty(text1));
        Assert.Equal(text1, WorkerApi.ChatText(b2));

        var usage = b1.GetProperty("usage");
        var prompt = usage.GetProperty("prompt_tokens").GetInt32();
        var completion = usage.GetProperty("completion_tokens").GetInt32();
        Assert.True(prompt > 0);
        Assert.Equal(40, completion);
        Assert.Equal(prompt + completion, usage.GetProperty("total_tokens").GetInt32());
        var usage2 = b2.GetProperty("usage");
        Assert.Equal(prompt, usage2.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(completion, usage2.GetProperty("completion_tokens").GetInt32());
        output.WriteLine($"greedy text: {JsonSerializer.Serialize(text1)}");
    }

    [Fact]
    public async Task Sampling_with_a_seed_is_deterministic()
    {
        var request = WorkerApi.Chat("seeded", maxTokens: 30, temperature: 0.9);
        request["seed"] = 1234;
        request["top_p"] = 0.95;
        var (_, b1) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", request);
        var (_, b2) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", request);
        Assert.Equal(WorkerApi.ChatText(b1), WorkerApi.ChatText(b2));
        Assert.Equal(30, b1.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Answers_name_the_instance_that_served_them()
    {
        using var response = await Http.PostAsync("/v1/completions",
            new StringContent("""{"prompt":"the world","max_tokens":2}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal("test-1", Assert.Single(response.Headers.GetValues(Headers.Instance)));
    }

    [Fact]
    public async Task Text_completion_endpoint_works()
    {
        var (status, body) = await WorkerApi.PostAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = "the world", ["max_tokens"] = 12, ["temperature"] = 0 });
        Assert.True(status == 200, body.ToString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(12, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() >= 2);
    }

    [Fact]
    public async Task Stop_string_cuts_the_text_and_finishes_with_stop()
    {
        var baseline = new JsonObject { ["prompt"] = "hello", ["max_tokens"] = 60, ["temperature"] = 0 };
        var (_, full) = await WorkerApi.PostAsync(Http, "/v1/completions", baseline);
        var text = full.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.True(text.Length >= 12, $"need some text to pick a stop string from: {JsonSerializer.Serialize(text)}");

        var stop = text.Substring(8, 3);
        var expected = text[..text.IndexOf(stop, StringComparison.Ordinal)];
        var withStop = baseline.DeepClone().AsObject();
        withStop["stop"] = new JsonArray("this will never appear \u2603", stop);
        var (status, body) = await WorkerApi.PostAsync(Http, "/v1/completions", withStop);
        Assert.Equal(200, status);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(expected, choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() < 60);
    }

    [Fact]
    public async Task Streaming_chat_sends_role_chunks_finish_usage_and_done()
    {
        var request = WorkerApi.Chat("stream please", maxTokens: 24, stream: true);
        var events = await WorkerApi.StreamAsync(Http, "/v1/chat/completions", request);
        output.WriteLine(string.Join("\n", events));

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.True(chunks.Count >= 5, $"expected several chunks, got {chunks.Count}");
        var id = chunks[0].GetProperty("id").GetString();
        Assert.All(chunks, c =>
        {
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal(id, c.GetProperty("id").GetString());
        });
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());

        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(24, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var finishChunk = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("length", finishChunk.GetProperty("finish_reason").GetString());

        var content = string.Concat(chunks[..^1]
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out var t) ? t.GetString() : ""));
        var contentChunks = chunks.Count(c => c.GetProperty("choices").GetArrayLength() == 1
            && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0);
        Assert.True(contentChunks >= 3, $"expected the text in several chunks, got {contentChunks}");

        // The stream carries the same text as the non-streaming answer.
        request.Remove("stream");
        var (_, body) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", request);
        Assert.Equal(WorkerApi.ChatText(body), content);
    }

    [Fact]
    public async Task Streaming_completion_ends_with_usage_and_done()
    {
        var events = await WorkerApi.StreamAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = "a", ["max_tokens"] = 10, ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true } });
        Assert.Equal("[DONE]", events[^1]);
        var usage = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal("text_completion", usage.GetProperty("object").GetString());
        Assert.Equal(10, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(events.Count >= 4);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"max_tokens": 5}""", "messages")]
    [InlineData("/v1/chat/completions", """{"messages": "hi"}""", "messages")]
    [InlineData("/v1/chat/completions", """{"messages": []}""", "messages")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "wizard", "content": "hi"}]}""", "messages[0].role")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": 5}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}""", "max_tokens")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}""", "max_tokens")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "temperature": 7}""", "temperature")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "top_p": 0}""", "top_p")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "stop": 3}""", "stop")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "stop": ["a","b","c","d","e"]}""", "stop")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}""", "stream")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "seed": 1.5}""", "seed")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "n": 2}""", "n")]
    [InlineData("/v1/completions", """{"max_tokens": 5}""", "prompt")]
    [InlineData("/v1/completions", """{"prompt": {"text": "x"}}""", "prompt")]
    [InlineData("/v1/completions", """{"prompt": "x", "model": 3}""", "model")]
    public async Task Bad_input_is_a_400_naming_the_field(string path, string json, string param)
    {
        var (status, body) = await WorkerApi.PostAsync(Http, path, json);
        Assert.True(status == 400, $"{status}: {body}");
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    public async Task Malformed_body_is_a_400(string json)
    {
        var (status, body) = await WorkerApi.PostAsync(Http, "/v1/chat/completions", json);
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Prompt_longer_than_the_sequence_budget_is_a_400()
    {
        // 4096 context / 4 sequences = 1024 tokens per sequence.
        var (status, body) = await WorkerApi.PostAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = new string('x', 3000), ["max_tokens"] = 4 });
        Assert.Equal(400, status);
        Assert.Equal("prompt", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Unknown_model_is_a_404()
    {
        var (status, body) = await WorkerApi.PostAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = "x", ["model"] = "some-other-model" });
        Assert.Equal(404, status);
        Assert.Equal("model", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("model_not_found", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Concurrent_requests_share_the_batch_and_extra_ones_wait()
    {
        // 6 long requests against max_batch_size 4: four run together, two wait in the worker's queue.
        var generatedBefore = await fixture.Worker.MetricAsync(Metrics.GeneratedTokens);
        var requests = Enumerable.Range(0, 6).Select(i => WorkerApi.PostAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = $"request {i}", ["max_tokens"] = 600, ["temperature"] = 0 })).ToList();

        await Eventually.TrueAsync(async () => await fixture.Worker.MetricAsync(Metrics.RequestsWaiting) > 0,
            Timeout, "requests beyond max_batch_size waiting");
        var results = await Task.WhenAll(requests);
        foreach (var (status, body) in results)
        {
            Assert.True(status == 200, body.ToString());
            Assert.Equal(600, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        Assert.Equal(4, await fixture.Worker.MetricAsync(Metrics.RequestsRunningPeak));
        Assert.Equal(0, await fixture.Worker.MetricAsync(Metrics.RequestsRunning));
        Assert.Equal(0, await fixture.Worker.MetricAsync(Metrics.RequestsWaiting));
        Assert.True(await fixture.Worker.MetricAsync(Metrics.GeneratedTokens) >= generatedBefore + 6 * 600);
        Assert.True(await fixture.Worker.MetricAsync(Metrics.PromptTokens) > 0);
    }

    [Fact]
    public async Task Client_disconnect_frees_the_sequence()
    {
        using var cts = new CancellationTokenSource();
        var streaming = WorkerApi.StreamAsync(Http, "/v1/completions",
            new JsonObject { ["prompt"] = "long", ["max_tokens"] = 1000, ["stream"] = true }, cts.Token);
        // Wait until it is running, then hang up.
        await Eventually.TrueAsync(async () => await fixture.Worker.MetricAsync(Metrics.RequestsRunning) >= 1, Timeout, "the stream running");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => streaming);

        await Eventually.TrueAsync(async () => await fixture.Worker.MetricAsync(Metrics.RequestsRunning) == 0, Timeout, "the sequence freed");

        // The worker still serves afterwards.
        var (status, _) = await WorkerApi.PostAsync(Http, "/v1/completions", new JsonObject { ["prompt"] = "after", ["max_tokens"] = 3 });
        Assert.Equal(200, status);
    }
}
