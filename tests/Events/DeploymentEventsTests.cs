using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace DeepDeploy.Tests.Events;

/// <summary>Deployment events over the real system: history, live followers over SSE, the operators' feed.</summary>
[Collection(SystemCollection.Name)]
public sealed class DeploymentEventsTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_deployments_life_appears_in_order_in_its_history_and_live_to_two_followers_that_cost_nothing_once_gone()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 0);
        using var alice = system.Client(await system.CreateUserAsync("alice"));
        using var bob = system.Client(await system.CreateUserAsync("bob"));
        using var admin = system.Client(RunningSystem.AdminToken);

        var created = await alice.PostAsJsonAsync("/deploy/llm", GatewaySystem.Deployment("tiny", maxBatchSize: 4, minInstances: 1, maxInstances: 1));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;

        await using var first = await SseFollower.StartAsync(alice, $"/deploy/{deployId}/events?follow=true&after=0");
        await using var second = await SseFollower.StartAsync(alice, $"/deploy/{deployId}/events?follow=true&after=0");
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/deploy/{deployId}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/deploy/{deployId}/events?follow=true")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.GetAsync("/admin/events")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.GetAsync($"/deploy/{deployId}/events?limit=501")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.GetAsync($"/deploy/{deployId}/events?follow=yes")).StatusCode);

        await RunningSystem.WaitForAsync(alice, deployId, d => Running(d, 1), Timeout);
        Assert.Equal(HttpStatusCode.OK, (await alice.PutAsJsonAsync($"/deploy/{deployId}", new { settings = new { min_instances = 2, max_instances = 2 } })).StatusCode);
        await RunningSystem.WaitForAsync(alice, deployId, d => Running(d, 2), Timeout);
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync($"/deploy/{deployId}/stop", null)).StatusCode);
        await RunningSystem.WaitForAsync(alice, deployId, d => d.GetProperty("status").GetString() == "stopped", Timeout);
        await Eventually.TrueAsync(() => system.Agent.Instances.Count == 0, Timeout, "the stopped deployment's engines are gone");
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync($"/deploy/{deployId}/start", null)).StatusCode);
        await RunningSystem.WaitForAsync(alice, deployId, d => Running(d, 2), Timeout);
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"/deploy/{deployId}")).StatusCode);

        // History: numbered 1, 2, 3... with the life's milestones in order; the owner still reads it once deleted.
        var history = await Eventually.MatchAsync(() => HistoryAsync(alice, deployId),
            events => events.Any(e => ToStatus(e) == "deleted"), TimeSpan.FromSeconds(10), "the deletion in the history");
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e.GetProperty("sequence").GetInt64()));
        var milestones = history.Select(Milestone).OfType<string>().ToList();
        AssertInOrder(milestones, "status initializing", "placed", "status running", "settings 1..1 -> 2..2", "scale up 1 -> 2",
            "placed", "status stopped", "scale up 0 -> 2", "placed", "placed", "status running", "status deleted");
        Assert.Contains(history, e => e.GetProperty("kind").GetString() == "instance_phase" && e.GetProperty("phase").GetString() == "running");
        var placed = history.First(e => e.GetProperty("kind").GetString() == "placed");
        Assert.Equal("test-node", placed.GetProperty("node").GetString());
        Assert.Equal(1, placed.GetProperty("gpus").GetArrayLength());

        // Paging: after and limit.
        var page = await alice.GetFromJsonAsync<JsonElement>($"/deploy/{deployId}/events?after=2&limit=3");
        Assert.Equal([3L, 4L, 5L], page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64()));

        // Live: both followers got the whole history, in order, with the sequence as the SSE id (the ends of the
        // deleted deployment's instances may still come after the history was read).
        foreach (var follower in new[] { first, second })
        {
            await Eventually.TrueAsync(() => follower.Items.Count >= history.Count, TimeSpan.FromSeconds(10), "a follower has every event");
            Assert.Equal(history.Select(e => e.GetProperty("sequence").GetInt64().ToString()), follower.Items.Take(history.Count).Select(i => i.Id));
            Assert.Equal(history.Select(e => e.GetProperty("message").GetString()), follower.Items.Take(history.Count).Select(i => i.Data.GetProperty("message").GetString()));
        }

        // Operators see it in the cluster feed, numbered their own way.
        var feed = (await admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=500")).GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("deploy_id").GetString() == deployId).ToList();
        Assert.Equal(history.Select(e => e.GetProperty("message").GetString()), feed.Take(history.Count).Select(e => e.GetProperty("message").GetString()));
        Assert.All(feed, e => Assert.Equal("alice", e.GetProperty("owner").GetString()));

        // A follower that leaves is unsubscribed: the gateway holds one subscription per connected follower.
        var stream = system.Services.GetRequiredService<IClusterClient>().GetStreamProvider(EventStreams.Provider)
            .GetStream<DeploymentEvent>(StreamId.Create(EventStreams.Events, deployId));
        Assert.Equal(2, (await stream.GetAllSubscriptionHandles()).Count);
        await first.DisposeAsync();
        await Eventually.TrueAsync(async () => (await stream.GetAllSubscriptionHandles()).Count == 1, TimeSpan.FromSeconds(10), "one follower left");
        await second.DisposeAsync();
        await Eventually.TrueAsync(async () => (await stream.GetAllSubscriptionHandles()).Count == 0, TimeSpan.FromSeconds(10), "both followers left");
    }

    [Fact]
    public async Task A_follower_resumes_from_its_last_event_id_without_loss()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 0);
        using var alice = system.Client(await system.CreateUserAsync("alice"));
        var deployId = await GatewaySystem.DeployAsync(alice, "tiny", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        var history = await HistoryAsync(alice, deployId);
        Assert.True(history.Count >= 3);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/deploy/{deployId}/events?follow=true");
        request.Headers.Add("Last-Event-ID", "2");
        using var response = await alice.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var enough = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ids = new List<string>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync(enough.Token))
        {
            ids.Add(item.EventId!);
            if (ids.Count == history.Count - 2)
            {
                break;
            }
        }

        Assert.Equal(history.Skip(2).Select(e => e.GetProperty("sequence").GetInt64().ToString()), ids);
    }

    [Fact]
    public async Task The_history_survives_a_restart_and_followers_subscribe_again()
    {
        var settings = new Dictionary<string, string> { ["DeepDeploy:Node:WorkerArgs"] = "--engine fake --fake-token-rate 0" };
        string deployId, token;
        List<JsonElement> before;
        using var dataDir = TempDirectory.Create("deepdeploy-e2e-");
        await using (var system = await RunningSystem.StartAsync(dataDir.Path, settings))
        {
            token = await system.CreateUserAsync("alice");
            using var alice = system.Client(token);
            deployId = await GatewaySystem.DeployAsync(alice, "tiny", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
            await using var follower = await SseFollower.StartAsync(alice, $"/deploy/{deployId}/events?follow=true");
            before = await Eventually.MatchAsync(() => HistoryAsync(alice, deployId), events => events.Any(e => ToStatus(e) == "running"),
                TimeSpan.FromSeconds(10), "running in the history");
            await system.StopAsync();
        }

        await using var restarted = await RunningSystem.StartAsync(dataDir.Path, settings);
        using var client = restarted.Client(token);
        var after = await HistoryAsync(client, deployId);
        Assert.Equal(before.Select(e => e.GetProperty("message").GetString()), after.Take(before.Count).Select(e => e.GetProperty("message").GetString()));

        await using var again = await SseFollower.StartAsync(client, $"/deploy/{deployId}/events?follow=true&limit=1");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/deploy/{deployId}/stop", null)).StatusCode);
        await Eventually.TrueAsync(() => again.Items.Any(i => ToStatus(i.Data) == "stopped"), TimeSpan.FromSeconds(30), "the stop, live after the restart");
    }

    [Fact]
    public async Task The_spending_limit_stopping_and_resuming_a_deployment_are_events()
    {
        // 36000 USD per GPU-hour = 10 USD per second: the limit is reached within seconds.
        await using var system = await GatewaySystem.StartAsync(tokenRate: 0, new Dictionary<string, string> { ["DeepDeploy:Prices:PerGpuHour:A100-80GB"] = "36000" });
        using var alice = system.Client(await system.CreateUserAsync("alice"));
        var deployId = await GatewaySystem.DeployAsync(alice, "pricey", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        var spent = (await alice.GetFromJsonAsync<JsonElement>("/billing/usage")).GetProperty("total_usd").GetDecimal();
        Assert.Equal(HttpStatusCode.OK, (await alice.PutAsJsonAsync("/billing/limit", new { usd = spent + 30 })).StatusCode);
        await RunningSystem.WaitForAsync(alice, deployId, d => d.GetProperty("status").GetString() == "stopped", Timeout);
        Assert.Equal(HttpStatusCode.OK, (await alice.PutAsJsonAsync("/billing/limit", new { usd = 1_000_000 })).StatusCode);
        await RunningSystem.WaitForAsync(alice, deployId, d => Running(d, 1), Timeout);

        // The events leave the deployment's outbox after its turn: wait until the last has reached the history.
        string[] expected = ["status running", "billing_stopped", "status stopped", "billing_resumed", "status running"];
        static List<string> Kinds(IEnumerable<JsonElement> events) =>
            events.Select(e => e.GetProperty("kind").GetString() == "status_changed" ? $"status {ToStatus(e)}" : e.GetProperty("kind").GetString()!).ToList();
        var history = await Eventually.MatchAsync(() => HistoryAsync(alice, deployId),
            events => Matched(Kinds(events), expected) == expected.Length, TimeSpan.FromSeconds(10), "the resume and running again in the history");
        AssertInOrder(Kinds(history), expected);
        var stopped = history.First(e => e.GetProperty("kind").GetString() == "billing_stopped");
        Assert.Contains("spending limit", stopped.GetProperty("reason").GetString());
    }

    static bool Running(JsonElement deploy, int instances) =>
        deploy.GetProperty("status").GetString() == "running" && deploy.GetProperty("instances").GetProperty("running").GetInt32() == instances;

    static async Task<List<JsonElement>> HistoryAsync(HttpClient client, string deployId) =>
        (await client.GetFromJsonAsync<JsonElement>($"/deploy/{deployId}/events?after=0&limit=500")).GetProperty("events").EnumerateArray().ToList();

    static string? ToStatus(JsonElement e) => e.TryGetProperty("to_status", out var to) ? to.GetString() : null;

    static string? Milestone(JsonElement e) => e.GetProperty("kind").GetString() switch
    {
        "status_changed" => $"status {ToStatus(e)}",
        "placed" => "placed",
        "settings_changed" => $"settings {e.GetProperty("min_instances_before")}..{e.GetProperty("max_instances_before")} -> {e.GetProperty("min_instances_after")}..{e.GetProperty("max_instances_after")}",
        "scaling_decision" => $"scale {(e.GetProperty("target").GetInt32() > e.GetProperty("instances").GetInt32() ? "up" : "down")} {e.GetProperty("instances")} -> {e.GetProperty("target")}",
        _ => null,
    };

    /// <summary><paramref name="expected"/> is a subsequence of <paramref name="actual"/>.</summary>
    /// <summary>How many of <paramref name="expected"/> appear in <paramref name="actual"/> in that order.</summary>
    static int Matched(IReadOnlyList<string> actual, string[] expected)
    {
        var at = 0;
        foreach (var item in actual)
        {
            if (at < expected.Length && item == expected[at])
            {
                at++;
            }
        }

        return at;
    }

    static void AssertInOrder(IReadOnlyList<string> actual, params string[] expected)
    {
        var at = Matched(actual, expected);
        Assert.True(at == expected.Length, $"expected in order: {string.Join(" | ", expected)}\nmissing from '{(at < expected.Length ? expected[at] : "")}' in: {string.Join(" | ", actual)}");
    }
}
