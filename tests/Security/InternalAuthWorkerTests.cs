using System.Net;
using System.Net.Http.Headers;
using System.Text;
using DeepDeploy.Tests.Support;
using DeepDeploy.Tests.Worker;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Security;

/// <summary>A real worker process started with its instance secret: only requests that present it get work done.</summary>
public sealed class InternalAuthWorkerTests
{
    const string Secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    static HttpRequestMessage Completion(string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"x","max_tokens":3}""", Encoding.UTF8, "application/json"),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    [Fact]
    public async Task The_worker_refuses_requests_without_its_secret_and_does_no_work()
    {
        await using var worker = await WorkerProcess.StartAsync("unused.gguf", ["--engine", "fake", "--fake-token-rate", "0", Protocol.Args.ApiKey, Secret]);
        await worker.WaitHealthyAsync();

        string?[] wrong = [null, "Bearer", "Bearer ", "Bearer " + Secret[..^1], "Bearer " + Secret + "0", "Bearer " + Secret.ToUpperInvariant(),
            "bearer " + Secret, "Basic " + Secret, Secret, "Bearer  " + Secret];
        foreach (var authorization in wrong)
        {
            using var refused = await worker.Http.SendAsync(Completion(authorization));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var body = await refused.Content.ReadAsStringAsync();
            Assert.Contains("invalid_instance_secret", body);
            Assert.DoesNotContain(Secret, body);
        }

        using (var models = await worker.Http.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        }

        // The probes stay open; nothing of the refused requests reached the engine.
        Assert.Equal(0, await worker.MetricAsync(Protocol.Metrics.PromptTokens));
        Assert.Equal(0, await worker.MetricAsync(Protocol.Metrics.GeneratedTokens));

        using var accepted = await worker.Http.SendAsync(Completion("Bearer " + Secret));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.True(await worker.MetricAsync(Protocol.Metrics.GeneratedTokens) > 0);

        using var listed = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        listed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        using var modelsOk = await worker.Http.SendAsync(listed);
        Assert.Equal(HttpStatusCode.OK, modelsOk.StatusCode);
        Assert.DoesNotContain(Secret, worker.Stderr + worker.Stdout);
    }

    [Theory]
    [InlineData("0123456789abcdef")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\u00e9")]
    public async Task A_short_or_malformed_secret_stops_the_worker_without_echoing_it(string secret)
    {
        await using var worker = ProcessHost.StartDotnet("worker", WorkerProcess.WorkerDll,
            [Protocol.Args.Engine, "fake", Protocol.Args.Port, "0", Protocol.Args.ApiKey, secret]);
        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the worker started with a bad secret");
        Assert.Equal(2, worker.ExitCode);
        Assert.Contains($"{Protocol.Args.ApiKey} must be at least {Protocol.Args.ApiKeyMinLength} ASCII letters or digits", worker.Output.Stderr);
        Assert.DoesNotContain(secret.Trim(), worker.Output.Stderr);
        Assert.DoesNotContain(Protocol.Readiness.ListeningPrefix, worker.Output.Stdout);
    }
}
