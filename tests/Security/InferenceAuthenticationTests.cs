using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Security;

/// <summary>The inference endpoints authenticate themselves, past ASP.NET Core's authentication and authorization
/// middleware (docs/gateway.md "Where the time goes"): every refusal must be the rest of the API's, the same status,
/// headers and body, failures must count towards the same throttle, and a revoked token must be refused as fast.</summary>
[Collection(SystemCollection.Name)]
public sealed class InferenceAuthenticationTests
{
    /// <summary>Every inference endpoint, with a model nobody has.</summary>
    static readonly (HttpMethod Method, string Path)[] Inference =
    [
        (HttpMethod.Post, "/v1/openai/chat/completions"),
        (HttpMethod.Post, "/v1/openai/completions"),
        (HttpMethod.Get, "/v1/openai/models"),
        (HttpMethod.Post, "/v1/inference/alice/nothing"),
    ];

    const int FailureLimit = 12;

    [Fact]
    public async Task Inference_endpoints_refuse_count_and_throttle_as_the_rest_of_the_API()
    {
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Auth:FailureLimit"] = FailureLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DeepDeploy:Auth:FailureWindow"] = "00:10:00",
        });
        var token = await system.CreateUserAsync("alice");
        using var http = new HttpClient { BaseAddress = system.BaseAddress };

        // Nothing else is short-circuited past the authentication middleware: every such endpoint is checked here.
        var shortCircuited = system.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.Any(m => m.GetType().Name == "ShortCircuitMetadata")) // ASP.NET Core's own, internal type
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'));
        Assert.Equal(["/v1/inference/{user}/{model}", "/v1/openai/chat/completions", "/v1/openai/completions", "/v1/openai/models"],
            shortCircuited.Order(StringComparer.Ordinal));

        // No header (not counted as a failure), another scheme and an unknown token (each counted).
        var failures = 0;
        foreach (var authorization in new[] { null, "Basic YWxpY2U6eA==", "Bearer dd-unknown-token" })
        {
            var expected = await AnswerAsync(http, authorization, (HttpMethod.Get, "/v1/me"));
            Assert.Equal(HttpStatusCode.Unauthorized, expected.Status);
            foreach (var endpoint in Inference)
            {
                Assert.Equal(expected, await AnswerAsync(http, authorization, endpoint));
            }

            failures += authorization is null ? 0 : 1 + Inference.Length;
        }

        // A known user and the operator pass authentication: the model does not exist (404), whoever asks.
        foreach (var caller in new[] { token, RunningSystem.AdminToken })
        {
            var answer = await AnswerAsync(http, $"Bearer {caller}", Inference[0]);
            Assert.Equal(HttpStatusCode.NotFound, answer.Status);
            Assert.Contains("model_not_found", answer.Body, StringComparison.Ordinal);
        }

        // The inference endpoints' failures count: the limit's last one is still a 401, the next a 429 as /v1/me's.
        while (failures < FailureLimit)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await AnswerAsync(http, "Bearer dd-guess", Inference[0])).Status);
            failures++;
        }

        var throttled = await AnswerAsync(http, "Bearer dd-guess", Inference[0]);
        var throttledMe = await AnswerAsync(http, "Bearer dd-guess", (HttpMethod.Get, "/v1/me"));
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal(throttledMe.Status, throttled.Status);
        Assert.Equal(throttledMe.Headers, throttled.Headers);
        Assert.Equal(Code(throttledMe.Body), Code(throttled.Body));
        Assert.Equal("too_many_auth_failures", Code(throttled.Body));
        Assert.InRange(int.Parse(throttled.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture), 500, 600);
        // The token is not even looked at: a good one, the operator's too, is refused from this source.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await AnswerAsync(http, $"Bearer {RunningSystem.AdminToken}", Inference[2])).Status);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_by_the_inference_endpoints_within_5_s()
    {
        await using var system = await RunningSystem.StartAsync();
        var token = await system.CreateUserAsync("dave");
        using var http = new HttpClient { BaseAddress = system.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await AnswerAsync(http, $"Bearer {token}", Inference[2])).Status); // now cached

        using var admin = system.Client(RunningSystem.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/admin/users/dave/revoke", null)).StatusCode);
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => (await AnswerAsync(http, $"Bearer {token}", Inference[0])).Status == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(10), "the revoked token refused");
        Assert.True(clock.Elapsed <= TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}");
    }

    /// <summary>What a caller sees: status, headers but the date, body (Retry-After apart: it counts down).</summary>
    static async Task<Answer> AnswerAsync(HttpClient http, string? authorization, (HttpMethod Method, string Path) endpoint)
    {
        using var request = new HttpRequestMessage(endpoint.Method, endpoint.Path);
        if (endpoint.Method == HttpMethod.Post)
        {
            request.Content = new StringContent("""{"model":"alice/nothing","messages":[{"role":"user","content":"hi"}],"input":"hi"}""",
                new MediaTypeHeaderValue("application/json"));
        }

        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request);
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key is not ("Date" or "Retry-After"))
            .Select(h => $"{h.Key}: {string.Join(",", h.Value)}")
            .Order(StringComparer.Ordinal);
        return new Answer(response.StatusCode, string.Join("\n", headers), await response.Content.ReadAsStringAsync(),
            response.Headers.TryGetValues("Retry-After", out var retry) ? retry.Single() : null);
    }

    static string? Code(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("error").GetProperty("code").GetString();
    }

    sealed record Answer(HttpStatusCode Status, string Headers, string Body, string? RetryAfter);
}
