using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.DeployApi;

[Collection(SystemCollection.Name)]
public sealed class QuotaTests
{
    [Fact]
    public async Task A_pending_deployment_starts_by_itself_when_quota_frees()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("jack"));

        // An instance larger than the whole quota is refused at creation.
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("too-big", numGpus: 8, min: 0)), HttpStatusCode.BadRequest, "num_gpus");
        using var admin = system.Client(RunningSystem.AdminToken);
        await admin.PutAsJsonAsync("/admin/users/jack/quota", new { gpu_limit = 2 });
        await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("over-quota", numGpus: 4, min: 0)), HttpStatusCode.Forbidden, "num_gpus");
        await admin.PutAsJsonAsync("/admin/users/jack/quota", new { gpu_limit = 4 });

        var big = Id(await CreateAsync(client, Tiny("four-gpus", numGpus: 4)));
        await RunningSystem.WaitForAsync(client, big, d => Running(d) == 1, TimeSpan.FromSeconds(60));

        // The H100s are free, but the quota (4) is used up: this one waits.
        var small = Id(await CreateAsync(client, Tiny("one-gpu", gpu: "H100-80GB")));
        var waiting = await Eventually.MatchAsync(() => client.GetFromJsonAsync<JsonElement>($"/deploy/{small}"),
            d => Status(d) == "deploying", TimeSpan.FromSeconds(30), "deploying, waiting for quota");
        Assert.Equal(0, Running(waiting));
        Assert.Equal(1, Pending(waiting));
        Assert.Equal(4, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("gpus_reserved").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{big}")).StatusCode);
        var started = await RunningSystem.WaitForAsync(client, small, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        Assert.Equal(0, Pending(started));
        Assert.Equal(1, (await client.GetFromJsonAsync<JsonElement>("/v1/me")).GetProperty("gpus_reserved").GetInt32());
    }

    [Fact]
    public async Task Twenty_parallel_scale_ups_never_reserve_more_than_the_limit()
    {
        await using var system = await RunningSystem.StartAsync();
        using var client = system.Client(await system.CreateUserAsync("kate"));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(Id(await CreateAsync(client, Tiny($"burst-{i}", gpu: i % 2 == 0 ? "A100-80GB" : "H100-80GB", min: 0, max: 4))));
        }

        // Watch the reservations and the real worker processes while 20 scale-ups race.
        var peakReserved = 0;
        var peakProcesses = 0;
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                var me = await client.GetFromJsonAsync<JsonElement>("/v1/me");
                peakReserved = Math.Max(peakReserved, me.GetProperty("gpus_reserved").GetInt32());
                peakProcesses = Math.Max(peakProcesses, system.Agent.Instances.Count);
                await Task.Delay(20); // the sampler's pace: it looks for a peak, not for one event
            }
        });

        var puts = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.PutAsync($"/deploy/{ids[i % ids.Count]}", Json("""{"settings": {"min_instances": 4, "max_instances": 4}}"""))));
        Assert.All(puts, p => Assert.Equal(HttpStatusCode.OK, p.StatusCode));

        // Settle: exactly the quota runs, the rest is pending.
        await Eventually.MatchAsync(() => Task.WhenAll(ids.Select(id => client.GetFromJsonAsync<JsonElement>($"/deploy/{id}"))),
            all => all.Sum(Running) == 4 && all.Sum(Pending) == 20 - 4, TimeSpan.FromSeconds(60), "the quota's four instances running, sixteen pending");
        await Eventually.TrueAsync(() => peakReserved >= 4 && peakProcesses >= 4, TimeSpan.FromSeconds(10), "the sampler saw the four reservations");
        watching.Cancel();
        await watcher;
        Assert.True(peakReserved <= 4, $"reserved {peakReserved} GPUs with a limit of 4");
        Assert.True(peakProcesses <= 4, $"{peakProcesses} worker processes with a limit of 4 GPUs");
        Assert.Equal(4, peakReserved);
    }
}
