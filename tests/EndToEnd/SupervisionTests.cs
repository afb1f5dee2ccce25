using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.Support;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.EndToEnd;

[Collection(SystemCollection.Name)]
public sealed class SupervisionTests
{
    [Fact]
    public async Task A_killed_worker_is_restarted_in_place_and_one_that_keeps_crashing_is_replaced()
    {
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Node:RestartBackoff"] = "00:00:00.200",
            ["DeepDeploy:Node:MaxRestarts"] = "2",
        });
        using var client = system.Client(await system.CreateUserAsync("rita"));
        var id = Id(await CreateAsync(client, Tiny("fragile")));
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        var first = Assert.Single(system.Agent.Instances);
        var instanceId = first.Launch.InstanceId;

        // One crash: the same instance comes back with a new process and serves again.
        var pid = first.Process!.Id;
        first.Process.Kill();
        await Eventually.TrueAsync(() => first.Process is { HasExited: false } p && p.Id != pid && first.Endpoint is not null, TimeSpan.FromSeconds(30));
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(instanceId, Assert.Single(system.Agent.Instances).Launch.InstanceId);
        var chat = await client.PostAsJsonAsync("/v1/openai/completions", new { model = "rita/fragile", prompt = "again", max_tokens = 4 });
        Assert.True(chat.IsSuccessStatusCode, await chat.Content.ReadAsStringAsync());

        // Crash it past its restart budget: the instance fails and a new one replaces it.
        for (var crash = 0; crash < 3; crash++)
        {
            var process = await WaitForProcessAsync(system, instanceId);
            if (process is null)
            {
                break; // failed already
            }

            process.Kill();
            await Eventually.TrueAsync(() => process.HasExited, TimeSpan.FromSeconds(10));
        }

        await Eventually.TrueAsync(() => system.Agent.Instances.Any(i => i.Launch.InstanceId != instanceId), TimeSpan.FromSeconds(60));
        var replaced = await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        Assert.Equal("running", Status(replaced));

        // The failed instance's last words are in the logs.
        var logs = await client.GetFromJsonAsync<JsonElement>($"/deploy/{id}/logs?lines=20");
        var ended = logs.EnumerateArray().First(l => l.GetProperty("instance_id").GetString() == instanceId);
        Assert.False(ended.GetProperty("live").GetBoolean());
        Assert.NotEmpty(ended.GetProperty("lines").EnumerateArray());
        Assert.Contains(logs.EnumerateArray(), l => l.GetProperty("live").GetBoolean());
    }

    /// <summary>The instance's process once it has been (re)started, or null when the instance is gone.</summary>
    static async Task<System.Diagnostics.Process?> WaitForProcessAsync(RunningSystem system, string instanceId)
    {
        var (_, process) = await Eventually.MatchAsync(
            () =>
            {
                var instance = system.Agent.Instances.FirstOrDefault(i => i.Launch.InstanceId == instanceId);
                return Task.FromResult((Gone: instance is null, Process: instance?.Process is { HasExited: false } p ? p : null));
            },
            seen => seen.Gone || seen.Process is not null,
            TimeSpan.FromSeconds(30),
            $"instance {instanceId} running or gone");
        return process;
    }
}
