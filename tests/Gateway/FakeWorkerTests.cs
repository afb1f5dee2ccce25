using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.Support;
using DeepDeploy.Tests.Worker;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The worker's own limit (the last guard of "never more than max_batch_size in flight") and its fake
/// engine (test double), on a real worker process.</summary>
public sealed class FakeWorkerTests
{
    [Fact]
    public async Task The_worker_refuses_work_beyond_max_batch_size_and_the_fake_engine_keeps_its_rate()
    {
        await using var worker = await WorkerProcess.StartAsync("unused.gguf", ["--engine", "fake", "--fake-token-rate", "10", "--max-batch-size", "2"]);
        var health = await worker.WaitHealthyAsync();
        Assert.Equal("fake", health.GetProperty("engine").GetString());
        Assert.Equal(0, health.GetProperty("max_queue").GetInt32());
        await worker.MetricAsync("deepdeploy_worker_requests_in_flight"); // the exporter's first scrape is slow: not within the 200 ms below

        // 60 tokens at 10 tokens/s: about six seconds per request, long enough to see both in flight through a scrape
        // of every series on a busy machine (three seconds was missed once in CI on a loaded 2-core machine).
        var clock = Stopwatch.StartNew();
        var running = Enumerable.Range(0, 2)
            .Select(_ => WorkerApi.PostAsync(worker.Http, "/v1/completions", new JsonObject { ["prompt"] = "x", ["max_tokens"] = 60 }))
            .ToList();
        await Eventually.TrueAsync(async () => await worker.MetricAsync("deepdeploy_worker_requests_in_flight") >= 2, TimeSpan.FromSeconds(10),
            "both requests in flight");

        using (var refused = await worker.Http.PostAsync("/v1/completions", new StringContent("""{"prompt":"y","max_tokens":1}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("busy", Assert.Single(refused.Headers.GetValues(DeepDeploy.WorkerProtocol.WorkerProtocol.Headers.Refused)));
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("instance_busy", await refused.Content.ReadAsStringAsync());
        }

        foreach (var (status, body) in await Task.WhenAll(running))
        {
            Assert.Equal(200, status);
            Assert.Equal(60, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        Assert.InRange(clock.ElapsedMilliseconds, 5_500, 40_000);
        Assert.Equal(1, await worker.MetricAsync("deepdeploy_worker_requests_refused_total"));
        Assert.Equal(2, await worker.MetricAsync("deepdeploy_worker_requests_in_flight_peak"));
        Assert.Equal(0, await worker.MetricAsync("deepdeploy_worker_requests_in_flight"));
        Assert.Equal(0, await worker.MetricAsync("deepdeploy_worker_requests_waiting"));
    }

    [Fact]
    public async Task With_max_queue_the_worker_queues_that_many_and_refuses_the_rest()
    {
        await using var worker = await WorkerProcess.StartAsync("unused.gguf", ["--engine", "fake", "--fake-token-rate", "50", "--max-batch-size", "1", "--max-queue", "2"]);
        await worker.WaitHealthyAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 5)
            .Select(_ => WorkerApi.PostAsync(worker.Http, "/v1/completions", new JsonObject { ["prompt"] = "x", ["max_tokens"] = 10 })));
        Assert.Equal(3, results.Count(r => r.Item1 == 200));
        Assert.Equal(2, results.Count(r => r.Item1 == 429));
        Assert.Equal(1, await worker.MetricAsync("deepdeploy_worker_requests_running_peak"));
    }
}
