using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DeepDeploy.Tests.Worker;

/// <summary>Small HTTP helpers for the worker's OpenAI endpoints.</summary>
public static class WorkerApi
{
    public static async Task<(int Status, JsonElement Body)> PostAsync(HttpClient http, string path, string json,
        CancellationToken ct = default)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, content, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public static Task<(int Status, JsonElement Body)> PostAsync(HttpClient http, string path, JsonObject body,
        CancellationToken ct = default) => PostAsync(http, path, body.ToJsonString(), ct);

    public static JsonObject Chat(string content, int maxTokens, double temperature = 0, bool stream = false)
    {
        var o = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "be brief" },
                new JsonObject { ["role"] = "user", ["content"] = content }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = temperature,
        };
        if (stream)
        {
            o["stream"] = true;
        }

        return o;
    }

    public static string ChatText(JsonElement body) =>
        body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    /// <summary>Posts a streaming request and returns the payload of every <c>data:</c> event, in order.</summary>
    public static async Task<List<string>> StreamAsync(HttpClient http, string path, JsonObject body, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"stream failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            throw new HttpRequestException($"unexpected content type {response.Content.Headers.ContentType}");
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var events = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line["data: ".Length..]);
            }
            else if (line.Length != 0)
            {
                throw new InvalidDataException($"unexpected SSE line: {line}");
            }
        }
        return events;
    }
}
