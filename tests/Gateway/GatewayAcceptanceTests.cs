using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// The gateway's acceptance tests over the whole system: real Orleans, real gateway, real worker OS processes
/// started by the node agent. The workers run the fake engine (a test double: canned tokens at a fixed rate per
/// sequence, continuous batching up to max_batch_size), so that a request lasts a known time.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class GatewayAcceptanceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_concurrent_requests_never_put_more_than_max_batch_size_in_flight_on_an_instance()
    {
        // 100 tokens/s per sequence, 20 tokens per request: 0.2 s each; 200 requests over 2 × 4 slots ≈ 5 s.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 100);
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "busy", maxBatchSize: 4, minInstances: 2, maxInstances: 2, running: 2);
        var lane = await GatewaySystem.LaneAsync(system, "alice/busy", instances: 2);

        var clock = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/busy", 20));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        output.WriteLine($"200 requests in {clock.ElapsedMilliseconds} ms");

        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Body));
        Assert.All(responses, r => Assert.Equal(20, JsonDocument.Parse(r.Body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32()));
        var instances = GatewaySystem.Instances(system, deployId);
        Assert.Equal(2, instances.Count);
        foreach (var instance in instances)
        {
            // Measured at the worker: it ran 4 at once (the slots were used), never more, and it never had to
            // refuse or queue anything, because the gateway never sent more than 4.
            var runningPeak = await GatewaySystem.MetricAsync(instance.Endpoint!, "deepdeploy_worker_requests_running_peak");
            var inFlightPeak = await GatewaySystem.MetricAsync(instance.Endpoint!, "deepdeploy_worker_requests_in_flight_peak");
            var refused = await GatewaySystem.MetricAsync(instance.Endpoint!, "deepdeploy_worker_requests_refused_total");
            output.WriteLine($"{instance.Launch.InstanceId}: running_peak {runningPeak}, in_flight_peak {inFlightPeak}, refused {refused}");
            Assert.Equal(4, runningPeak);
            Assert.Equal(4, inFlightPeak);
            Assert.Equal(0, refused);
        }

        Assert.Equal(0, lane.InFlight);
        Assert.Equal(0, lane.Waiting);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After_the_ceiling_rate_limited_and_a_passed_deadline_a_clear_503()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 20, new Dictionary<string, string>
        {
            ["DeepDeploy:Inference:QueueCapacity"] = "2",
            ["DeepDeploy:Inference:MaxConcurrentRequests"] = "5",
            ["DeepDeploy:Inference:QueueTimeout"] = "00:00:02",
        });
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        await GatewaySystem.DeployAsync(client, "one", maxBatchSize: 1, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.DeployAsync(client, "four", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        var one = await GatewaySystem.LaneAsync(system, "alice/one", 1);
        var four = await GatewaySystem.LaneAsync(system, "alice/four", 1);

        // "one": a 4 s request holds the only slot, two wait (the queue's capacity), the next is refused at once.
        var holder = client.PostAsJsonAsync("/v1/openai/completions", new { model = "alice/one", prompt = "x", max_tokens = 80 });
        await Eventually.TrueAsync(() => one.InFlight == 1, TimeSpan.FromSeconds(10));
        var waiting = Enumerable.Range(0, 2)
            .Select(_ => client.PostAsJsonAsync("/v1/openai/completions", new { model = "alice/one", prompt = "y", max_tokens = 1 }))
            .ToList();
        await Eventually.TrueAsync(() => one.Waiting == 2, TimeSpan.FromSeconds(10));
        using (var full = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "alice/one", prompt = "z", max_tokens = 1 }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), full.Headers.RetryAfter?.Delta);
            var error = (await full.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("queue_full", error.GetProperty("code").GetString());
            Assert.StartsWith("Rate limited", error.GetProperty("message").GetString());
        }

        // The waiters' deadline (2 s) passes long before the holder ends: a clear 503 each.
        foreach (var response in await Task.WhenAll(waiting))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("queue_timeout", error.GetProperty("code").GetString());
            Assert.Contains("waited 2 s", error.GetProperty("message").GetString());
            Assert.NotNull(response.Headers.RetryAfter);
        }

        Assert.Equal(HttpStatusCode.OK, (await holder).StatusCode);

        // "four": 4 in flight + 1 waiting reach the ceiling of 5: the next one is "Rate limited".
        var busy = Enumerable.Range(0, 5)
            .Select(_ => client.PostAsJsonAsync("/v1/openai/completions", new { model = "alice/four", prompt = "x", max_tokens = 20 }))
            .ToList();
        await Eventually.TrueAsync(() => four.InFlight == 4 && four.Waiting == 1, TimeSpan.FromSeconds(10));
        using (var limited = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "alice/four", prompt = "x", max_tokens = 1 }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            var error = (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("rate_limited", error.GetProperty("code").GetString());
            Assert.StartsWith("Rate limited", error.GetProperty("message").GetString());
            Assert.NotNull(limited.Headers.RetryAfter);
        }

        Assert.All(await Task.WhenAll(busy), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task Cold_start_from_zero_instances_serves_every_held_request()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 200);
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "sleepy", maxBatchSize: 2, minInstances: 0, maxInstances: 1, running: 0);
        await GatewaySystem.LaneAsync(system, "alice/sleepy", instances: 0);
        Assert.Empty(GatewaySystem.Instances(system, deployId));

        // Five requests arrive while nothing runs: they are held, the deployment is woken, all are served.
        var clock = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/sleepy", 5));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        output.WriteLine($"cold start + 5 requests: {clock.ElapsedMilliseconds} ms");
        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Body));

        var deploy = await client.GetFromJsonAsync<JsonElement>($"/deploy/{deployId}");
        Assert.Equal(1, deploy.GetProperty("instances").GetProperty("running").GetInt32());
        Assert.Single(GatewaySystem.Instances(system, deployId));
    }

    [Fact]
    public async Task Killing_a_worker_under_load_fails_only_its_in_flight_requests()
    {
        // 50 tokens/s, 40 tokens per request: 0.8 s each. 48 streaming requests over 2 × 4 slots ≈ 5 s of work.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 50);
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "fragile", maxBatchSize: 4, minInstances: 2, maxInstances: 2, running: 2);
        var lane = await GatewaySystem.LaneAsync(system, "alice/fragile", instances: 2);

        var requests = Enumerable.Range(0, 48)
            .Select(_ => GatewaySystem.StreamAsync(client, "/v1/openai/chat/completions", GatewaySystem.Chat("alice/fragile", 40, stream: true)))
            .ToList();
        // Kill mid-load: once both instances are full.
        await Eventually.TrueAsync(() => lane.Instances.All(s => s.InFlight == s.Capacity), TimeSpan.FromSeconds(10), "both instances full");
        var victim = GatewaySystem.Instances(system, deployId)[0];
        var inFlightOnVictim = lane.Instances.Single(s => s.InstanceId == victim.Launch.InstanceId).InFlight;
        var killedAt = Stopwatch.StartNew();
        victim.Process!.Kill();

        // The control plane drops the dead instance from the gateway's table within a second (pushed, not polled).
        await Eventually.TrueAsync(() => lane.Instances.All(s => s.InstanceId != victim.Launch.InstanceId), TimeSpan.FromSeconds(1));
        output.WriteLine($"dead instance left the routing table after {killedAt.ElapsedMilliseconds} ms");

        var results = await Task.WhenAll(requests);
        var failed = results.Where(r => !r.Ok).ToList();
        output.WriteLine($"in flight on the killed worker: {inFlightOnVictim}; failed: {failed.Count}: {string.Join(" | ", failed.Select(f => f.Error))}");
        Assert.InRange(failed.Count, 0, inFlightOnVictim);
        Assert.Equal(48 - failed.Count, results.Count(r => r.Ok));
        Assert.All(results.Where(r => r.Ok), r => Assert.Contains("\"completion_tokens\":40", r.Events[^2]));
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_the_upstream_request()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 50);
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "talker", maxBatchSize: 2, minInstances: 1, maxInstances: 1, running: 1);
        var lane = await GatewaySystem.LaneAsync(system, "alice/talker", instances: 1);
        var endpoint = GatewaySystem.Instances(system, deployId)[0].Endpoint!;

        using var cts = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = JsonContent.Create(GatewaySystem.Chat("alice/talker", 1000, stream: true)) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var reader = new StreamReader(stream);
        var first = await reader.ReadLineAsync(cts.Token);
        Assert.StartsWith("data: ", first);

        // Chunk by chunk: the first token arrives long before the 20 s the whole answer takes, then one every 20 ms.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"first chunk after {clock.Elapsed}");
        var chunks = 0;
        var window = Stopwatch.StartNew();
        while (window.Elapsed < TimeSpan.FromMilliseconds(500) && await reader.ReadLineAsync(cts.Token) is { } line)
        {
            chunks += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.InRange(chunks, 5, 40);
        Assert.Equal(1, await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_running"));

        await cts.CancelAsync();
        response.Dispose();
        await Eventually.TrueAsync(() => lane.InFlight == 0, TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(async () => await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_running") == 0,
            TimeSpan.FromSeconds(5), "the worker stopped generating for the client that went away");

        // 1000 tokens at 50/s would take 20 s: the sequence was cut short.
        Assert.True(await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_generated_tokens_total") < 500);
    }

    [Fact]
    public async Task Work_a_worker_refuses_goes_back_to_the_queue_and_the_client_never_sees_the_refusal()
    {
        // The workers are told max_batch_size 2 (WorkerArgs come last and win) while the deployment says 4: as if
        // another gateway held the other slots. The worker is the last guard; the gateway retries the refused ones.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 100, workerArgs: "--max-batch-size 2");
        var token = await system.CreateUserAsync("alice");
        using var client = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(client, "tight", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        await GatewaySystem.LaneAsync(system, "alice/tight", instances: 1);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/tight", 10));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Body));

        var endpoint = Assert.Single(GatewaySystem.Instances(system, deployId)).Endpoint!;
        var refused = await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_refused_total");
        output.WriteLine($"worker refused {refused} attempts; every client got 200");
        Assert.True(refused > 0, "expected the worker to refuse work beyond its own limit");
        Assert.Equal(2, await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_in_flight_peak"));
    }
}
