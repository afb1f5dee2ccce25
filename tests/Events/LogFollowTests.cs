using System.Net;
using System.Text.Json;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Events;

/// <summary>GET /deploy/{id}/logs?follow=true over the real system.</summary>
[Collection(SystemCollection.Name)]
public sealed class LogFollowTests
{
    [Fact]
    public async Task A_follower_sees_what_the_worker_prints_after_it_connected_masked_and_only_its_own()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 0);
        using var alice = system.Client(await system.CreateUserAsync("alice"));
        using var bob = system.Client(await system.CreateUserAsync("bob"));
        var deployId = await GatewaySystem.DeployAsync(alice, "tiny", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);
        var instance = Assert.Single(system.Agent.Instances);

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/deploy/{deployId}/logs?follow=true")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.GetAsync($"/deploy/{deployId}/logs?follow=1")).StatusCode);
        await using var follower = await SseFollower.StartAsync(alice, $"/deploy/{deployId}/logs?follow=true&lines=200");
        var connected = DateTimeOffset.UtcNow;

        // The worker crashes; its node starts it again, and the new process announces where it listens.
        instance.Process!.Kill();
        static bool Listening(JsonElement d) => d.TryGetProperty("time", out _)
            && d.GetProperty("line").GetString()!.StartsWith(Protocol.Readiness.ListeningPrefix, StringComparison.Ordinal);
        var items = await Eventually.MatchAsync(() => Task.FromResult(follower.Items), all => all.Any(i => Listening(i.Data)),
            TimeSpan.FromSeconds(60), "the restarted worker's listening line, live");
        var line = items.Select(i => i.Data).First(Listening);
        Assert.Equal(instance.Launch.InstanceId, line.GetProperty("instance_id").GetString());
        Assert.True(line.GetProperty("time").GetDateTimeOffset() >= connected.AddSeconds(-1));
        Assert.False(line.GetProperty("truncated").GetBoolean());

        Assert.All(follower.Items, i =>
        {
            var text = i.Data.GetProperty("line").GetString()!;
            Assert.DoesNotContain(instance.Secret, text, StringComparison.Ordinal);
            Assert.True(text.Length <= Contracts.Events.EventStreams.MaxLineLength);
            Assert.Equal(instance.Launch.InstanceId, i.Data.GetProperty("instance_id").GetString());
            // The tail and live lines alike leave the node with its data directory masked.
            Assert.DoesNotContain(system.DataDir, text, StringComparison.Ordinal);
        });
        // The node's own line about the start names the model's path: it is in the tail, masked.
        Assert.Contains(follower.Items, i => i.Data.GetProperty("line").GetString()!.StartsWith("[node] ", StringComparison.Ordinal)
            && i.Data.GetProperty("line").GetString()!.Contains(EngineLogPublisher.DataDirectoryMask, StringComparison.Ordinal));
    }
}
