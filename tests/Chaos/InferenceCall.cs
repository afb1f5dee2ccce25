using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// One chat completion through the gateway, as an OpenAI client would send it, classified by what the client
/// saw (<see cref="AttemptOutcome"/>): a whole answer, an error answer (status and JSON code), a transport error,
/// or a loss (no answer in time, a clean but incomplete stream, a body with two answers).
/// </summary>
public static class InferenceCall
{
    public static async Task<Attempt> SendAsync(HttpClient client, string token, string model, long requestId, int attempt,
        bool stream, int maxTokens, TimeSpan timeout)
    {
        var start = DateTime.UtcNow;
        var payload = JsonSerializer.Serialize(new
        {
            model,
            messages = new[] { new { role = "user", content = $"request {requestId}" } },
            max_tokens = maxTokens,
            temperature = 0,
            stream,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var cancel = new CancellationTokenSource(timeout);
        var (outcome, status, code, tokens) = await ClassifyAsync(client, request, stream, cancel.Token);
        return new Attempt(requestId, attempt, stream, start, DateTime.UtcNow, outcome, status, code, tokens);
    }

    static async Task<(AttemptOutcome, int, string, int)> ClassifyAsync(HttpClient client, HttpRequestMessage request, bool stream,
        CancellationToken cancel)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return (AttemptOutcome.Timeout, 0, "timeout", 0);
        }
        catch (HttpRequestException e)
        {
            return (IsRefused(e) ? AttemptOutcome.Refused : AttemptOutcome.Reset, 0, e.HttpRequestError.ToString(), 0);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            try
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return (AttemptOutcome.Error, status, ErrorCode(await response.Content.ReadAsStringAsync(cancel)), 0);
                }

                return stream
                    ? await ReadStreamAsync(response, cancel)
                    : ReadAnswer(await response.Content.ReadAsStringAsync(cancel));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return (AttemptOutcome.Timeout, status, "timeout", 0);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                return (AttemptOutcome.Cut, status, "cut", 0);
            }
            catch (JsonException)
            {
                return (AttemptOutcome.Truncated, status, "bad_json", 0);
            }
        }
    }

    static (AttemptOutcome, int, string, int) ReadAnswer(string body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() == 1
            ? (AttemptOutcome.Ok, 200, "", root.GetProperty("usage").GetProperty("completion_tokens").GetInt32())
            : (AttemptOutcome.Truncated, 200, "no_choices", 0);
    }

    static async Task<(AttemptOutcome, int, string, int)> ReadStreamAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var done = 0;
        var chunks = 0;
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data:".Length..].Trim();
            if (data == "[DONE]")
            {
                done++;
                continue;
            }

            using var json = JsonDocument.Parse(data);
            if (json.RootElement.TryGetProperty("error", out _))
            {
                return (AttemptOutcome.Error, 200, ErrorCode(data), 0);
            }

            ids.Add(json.RootElement.GetProperty("id").GetString()!);
            if (json.RootElement.GetProperty("choices").GetArrayLength() > 0)
            {
                chunks++;
            }
        }

        return done > 1 || ids.Count > 1 ? (AttemptOutcome.Duplicated, 200, $"ids={ids.Count} done={done}", 0)
            : done == 0 ? (AttemptOutcome.Truncated, 200, "no_done", 0)
            : (AttemptOutcome.Ok, 200, "", chunks);
    }

    /// <summary>The <c>error.code</c> of a JSON error body, or what the body was instead.</summary>
    static string ErrorCode(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()!
                : "no_error_code";
        }
        catch (JsonException)
        {
            return body.Length == 0 ? "empty_body" : "not_json";
        }
    }

    static bool IsRefused(HttpRequestException e) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };
}
