using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// A worker SIGKILLed mid-answer, on the real system (a real worker process on the fake engine, the test double):
/// answers already streaming (OpenAI chat and DeepInfra-native) end with one last error event
/// (<see cref="StreamFailureGuard"/>) and a clean end of the stream instead of a cut connection; an answer of which no
/// byte was sent yet is retried by the gateway or answered with a JSON error, never cut.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class StreamFailureTests
{
    [Fact]
    public async Task Streams_cut_by_a_dead_worker_end_with_an_upstream_failed_event_and_nothing_is_cut()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 10);
        var token = await system.CreateUserAsync("alice");
        using var http = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(http, "victim", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.LaneAsync(system, "alice/victim", 1);
        var instance = Assert.Single(GatewaySystem.Instances(system, deployId));

        // 400 tokens at 10 tokens/s: both streams are mid-answer for 40 s, long enough to kill their worker under them.
        var chat = new LiveStream(http, "/v1/openai/chat/completions", GatewaySystem.Chat("alice/victim", maxTokens: 400, stream: true));
        var native = new LiveStream(http, "/v1/inference/alice/victim", new { input = "Hello", max_new_tokens = 400, stream = true });
        await Eventually.TrueAsync(() => chat.Events.Count > 0 && native.Events.Count > 0, TimeSpan.FromSeconds(30), "both streams sent a token");
        var plain = http.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/victim", maxTokens: 30));
        await Eventually.TrueAsync(async () => await GatewaySystem.MetricAsync(instance.Endpoint!, "deepdeploy_worker_requests_in_flight") >= 3,
            TimeSpan.FromSeconds(30), "the plain request in flight at the worker too");

        instance.Process!.Kill();

        foreach (var stream in new[] { chat, native })
        {
            var (ended, events) = (await stream.Reading, stream.Events);
            Assert.True(ended is null, $"{stream.Path}: the client saw the connection break ({ended}) instead of an error event");
            Assert.DoesNotContain("[DONE]", events);
            using var last = JsonDocument.Parse(events[^1]);
            var error = last.RootElement.GetProperty("error");
            Assert.Equal(StreamFailureGuard.Code, error.GetProperty("code").GetString());
            Assert.Contains("alice/victim", error.GetProperty("message").GetString());
        }

        // Nothing of it reached the client before the kill: retried on the restarted engine, or a JSON error.
        using var answer = await plain;
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        if (answer.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(30, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
        else
        {
            Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetProperty("code").GetString()), body.ToString());
        }
    }

    /// <summary>A streamed answer read as it comes: its data lines, and how the reading ended (null: the server
    /// ended the stream; else the transport error the client saw).</summary>
    sealed class LiveStream
    {
        public LiveStream(HttpClient http, string path, object body)
        {
            Path = path;
            Reading = ReadAsync(http, body);
        }

        public string Path { get; }

        public List<string> Events { get; } = [];

        public Task<string?> Reading { get; }

        async Task<string?> ReadAsync(HttpClient http, object body)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = JsonContent.Create(body) };
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        lock (Events)
                        {
                            Events.Add(line["data: ".Length..]);
                        }
                    }
                }

                return null;
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                return e.GetType().Name + ": " + e.Message;
            }
        }
    }
}
