using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepDeploy.Gateway.Billing;
using DeepDeploy.Gateway.Deployments;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The request records and the error mapping, over real HTTP on a bare host (no cluster): every refusal
/// names its field with the documented code, and a failure nobody expected is a 500 that shows no internals.</summary>
[Trait("Category", "Unit")]
public sealed class RequestBodyTests : IAsyncLifetime
{
    WebApplication _app = null!;
    HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.Services.AddApiErrorHandling();
        _app = builder.Build();
        _app.UseExceptionHandler();
        _app.MapPost("/deploy", async (HttpRequest request) =>
            Results.Ok((await DeployRequest.ReadAsync(request, "alice", request.HttpContext.RequestAborted)).ModelName));
        _app.MapPut("/update", async (HttpRequest request) =>
            Results.Ok((await UpdateBody.ReadAsync(request, request.HttpContext.RequestAborted)).Apply(1, 2).Max));
        _app.MapPut("/limit", async (HttpRequest request) =>
            Results.Ok(new { usd = (await JsonBody.ReadAsync(request, RequestJsonContext.Default.LimitBody, request.HttpContext.RequestAborted)).Validate() }));
        _app.MapPost("/native", async (HttpRequest request) =>
            Results.Ok((await JsonBody.ReadAsync(request, RequestJsonContext.Default.NativeBody, request.HttpContext.RequestAborted)).Validate().Stop));
        _app.MapGet("/boom", IResult () => throw new InvalidOperationException("secret connection string"));
        _app.MapGet("/cluster", IResult () => throw new OrleansException("silo gone"));
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Trailing_commas_and_comments_are_accepted_and_own_full_names_shortened()
    {
        var ok = await SendAsync(HttpMethod.Post, "/deploy", """
            {
                // DeepInfra's own examples carry comments and trailing commas.
                "model_name": "alice/m",
                "gpu": "A100-80GB",
                "hf": {"repo": "a/b",},
            }
            """);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("m", await ok.Content.ReadFromJsonAsync<string>());
    }

    [Theory]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b","foo":1}}""", "unknown_field", "hf.foo", "Known fields: repo, revision, token")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"settings":{"bar":1}}""", "unknown_field", "settings.bar", "min_instances")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"modle":1}""", "unknown_field", "modle", "model_name")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","num_gpus":"two","hf":{"repo":"a/b"}}""", "invalid_type", "num_gpus", "an integer")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":{"repo":"a/b"},"extra_args":[1]}""", "invalid_type", "extra_args", "an array of strings")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":"a/b"}""", "invalid_type", "hf", "an object")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","hf":{}}""", "missing_field", "hf.repo", "required")]
    [InlineData("""{"model_name":"m","gpu":"A100-80GB","max_batch_size":257,"hf":{"repo":"a/b"}}""", "invalid_field", "max_batch_size", "between 1 and 256")]
    [InlineData("""{"model_name":"m",""", "invalid_json", "body", "not valid JSON")]
    [InlineData("""[1,2]""", "invalid_json", "body", "JSON object")]
    [InlineData("""{"a":1} {"b":2}""", "invalid_json", "body", "not valid JSON")]
    public async Task A_refused_create_names_the_field_and_the_rule(string json, string code, string field, string says)
    {
        var error = await ErrorAsync(await SendAsync(HttpMethod.Post, "/deploy", json), HttpStatusCode.BadRequest);
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Contains(says, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_body_over_the_limit_is_too_large()
    {
        var json = "{\"model_name\":\"" + new string('m', JsonBody.MaxBytes) + "\"}";
        var error = await ErrorAsync(await SendAsync(HttpMethod.Post, "/deploy", json), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("body_too_large", error.GetProperty("code").GetString());
        Assert.Equal("body", error.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_put_names_the_immutable_field_and_keeps_what_it_does_not_mention()
    {
        var error = await ErrorAsync(await SendAsync(HttpMethod.Put, "/update", """{"gpu":"H100-80GB","settings":{}}"""), HttpStatusCode.BadRequest);
        Assert.Equal("immutable_field", error.GetProperty("code").GetString());
        Assert.Equal("gpu", error.GetProperty("field").GetString());
        Assert.Equal("settings", (await ErrorAsync(await SendAsync(HttpMethod.Put, "/update", "{}"), HttpStatusCode.BadRequest))
            .GetProperty("field").GetString());
        Assert.Equal(5, await (await SendAsync(HttpMethod.Put, "/update", """{"settings":{"max_instances":5}}""")).Content.ReadFromJsonAsync<int>());
    }

    [Fact]
    public async Task The_spending_limit_tells_absent_from_null()
    {
        var removed = await SendAsync(HttpMethod.Put, "/limit", """{"usd": null}""");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await removed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usd").ValueKind);
        var missing = await ErrorAsync(await SendAsync(HttpMethod.Put, "/limit", "{}"), HttpStatusCode.BadRequest);
        Assert.Equal("missing_field", missing.GetProperty("code").GetString());
        Assert.Equal("usd", missing.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Native_stop_is_a_string_or_an_array_of_strings()
    {
        Assert.Equal(["x"], await StopsAsync(HttpMethod.Post, "/native", """{"input":"hi","stop":"x"}"""));
        Assert.Equal(["x", "y"], await StopsAsync(HttpMethod.Post, "/native", """{"input":"hi","stop":["x","y"]}"""));
        var error = await ErrorAsync(await SendAsync(HttpMethod.Post, "/native", """{"input":"hi","stop":5}"""), HttpStatusCode.BadRequest);
        Assert.Equal(("invalid_type", "stop"), (error.GetProperty("code").GetString(), error.GetProperty("field").GetString()));
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_with_a_correlation_id_and_no_internals()
    {
        var error = await ErrorAsync(await _client.GetAsync("/boom"), HttpStatusCode.InternalServerError);
        Assert.Equal("internal_error", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("correlation id", message);
        Assert.DoesNotContain("secret", message);
    }

    [Fact]
    public async Task A_cluster_that_cannot_answer_is_a_503_to_retry()
    {
        var response = await _client.GetAsync("/cluster");
        var error = await ErrorAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("cluster_unavailable", error.GetProperty("code").GetString());
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
    }

    async Task<string[]> StopsAsync(HttpMethod method, string path, string json) =>
        (await (await SendAsync(method, path, json)).Content.ReadFromJsonAsync<string[]>())!;

    Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string json) =>
        _client.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("error");
    }
}
