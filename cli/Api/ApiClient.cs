using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using DeepDeploy.Cli.Config;

namespace DeepDeploy.Cli.Api;

/// <summary>The public HTTP API, as deepctl calls it: JSON in and out, the API's errors turned into
/// <see cref="ApiException"/>s with their exit codes, server-sent-event streams read with the runtime's parser.</summary>
public sealed class ApiClient : IDisposable
{
    static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(100);

    readonly HttpClient _http;

    public ApiClient(Connection connection, bool requireToken = true)
    {
        Host = connection.Host;
        _http = new HttpClient { BaseAddress = connection.Host, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("deepctl", typeof(ApiClient).Assembly.GetName().Version?.ToString(3)));
        var token = requireToken ? connection.RequireToken() : connection.Token;
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri Host { get; }

    /// <summary>A path segment from user input, escaped so it can never leave its segment.</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    public Task<JsonElement> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, string? json, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        using var response = await CallAsync(method, path, json, HttpCompletionOption.ResponseContentRead, timeout.Token, ct);
        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        return body.Length == 0 ? default : Parse(body, response.StatusCode);
    }

    /// <summary>The items of a server-sent-event stream until the server ends it or <paramref name="ct"/> fires.</summary>
    public async IAsyncEnumerable<SseItem<string>> StreamAsync(HttpMethod method, string path, string? json,
        [EnumeratorCancellation] CancellationToken ct)
    {
        using var response = await CallAsync(method, path, json, HttpCompletionOption.ResponseHeadersRead, ct, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct))
        {
            yield return item;
        }
    }

    async Task<HttpResponseMessage> CallAsync(HttpMethod method, string path, string? json, HttpCompletionOption completion,
        CancellationToken timeout, CancellationToken caller)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, timeout);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(ExitCodes.Server, $"cannot reach {Host}: {e.Message}");
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new ApiException(ExitCodes.Server, $"{Host} did not answer within {CallTimeout.TotalSeconds:0} s");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw ToException(response.StatusCode, await response.Content.ReadAsStringAsync(caller));
        }
    }

    JsonElement Parse(string body, HttpStatusCode status)
    {
        try
        {
            return JsonSerializer.Deserialize<JsonElement>(body);
        }
        catch (JsonException)
        {
            throw new ApiException(ExitCodes.Server, $"{Host} answered {(int)status} with a body that is not JSON");
        }
    }

    /// <summary>The API's own message (<c>{"error": {"code", "message", "field"}}</c>), and the exit code of its status.</summary>
    static ApiException ToException(HttpStatusCode status, string body)
    {
        string? code = null, message = null, field = null;
        try
        {
            if (JsonSerializer.Deserialize<JsonElement>(body) is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                code = Text(error, "code");
                message = Text(error, "message");
                field = Text(error, "field");
            }
        }
        catch (JsonException)
        {
            // Not the API's error shape (a proxy's page): the status alone speaks.
        }

        var exit = (int)status switch
        {
            401 => ExitCodes.Auth,
            403 when code is null or "forbidden" => ExitCodes.Auth,
            404 => ExitCodes.NotFound,
            >= 500 => ExitCodes.Server,
            _ => ExitCodes.ApiError,
        };
        message ??= status switch
        {
            HttpStatusCode.Unauthorized => "the server does not know this token",
            HttpStatusCode.Forbidden => "this token may not make this call",
            HttpStatusCode.NotFound => "not found",
            _ => $"the server answered {(int)status} {status}",
        };
        return new ApiException(exit, message, code, field);
    }

    static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public void Dispose() => _http.Dispose();
}
