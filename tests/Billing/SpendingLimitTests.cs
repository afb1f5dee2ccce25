using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.Billing;

[Collection(SystemCollection.Name)]
public sealed class SpendingLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Reaching_the_limit_stops_instances_refuses_creates_and_raising_it_resumes()
    {
        // 36000 USD per GPU-hour = 10 USD per second: the limit is reached within seconds.
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Prices:PerGpuHour:A100-80GB"] = "36000",
        });
        using var client = system.Client(await system.CreateUserAsync("lena"));
        var id = Id(await CreateAsync(client, Tiny("pricey")));
        await RunningSystem.WaitForAsync(client, id, d => Running(d) == 1, TimeSpan.FromSeconds(60));
        var process = Assert.Single(system.Agent.Instances).Process!;

        var usage = await client.GetFromJsonAsync<JsonElement>("/billing/usage");
        var spent = usage.GetProperty("total_usd").GetDecimal();
        var limit = await client.PutAsJsonAsync("/billing/limit", new { usd = spent + 30 });
        Assert.Equal(HttpStatusCode.OK, limit.StatusCode);

        // Wait for the ledger to see the limit reached, then for the instance to stop.
        var clock = Stopwatch.StartNew();
        var state = await Eventually.MatchAsync(() => client.GetFromJsonAsync<JsonElement>("/billing/limit"),
            limitState => limitState.GetProperty("reached").GetBoolean(), TimeSpan.FromSeconds(30), "the limit reached");
        var reachedAt = clock.Elapsed;
        var stopped = await RunningSystem.WaitForAsync(client, id, d => Status(d) == "stopped", TimeSpan.FromSeconds(10));
        await DeployAndChatTests.WaitUntilAsync(() => process.HasExited, TimeSpan.FromSeconds(15));
        output.WriteLine($"limit reached → deployment stopped: {(clock.Elapsed - reachedAt).TotalMilliseconds:F0} ms (process exited)");
        Assert.Contains("spending limit", stopped.GetProperty("fail_reason").GetString());
        Assert.Contains(state.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "limit_reached");

        // Billing ends when the stopped instance's end is reported: an open meter bills until "now" (10 USD/s here,
        // visible between two reads), so two reads in a row that agree mean the meter is closed.
        async Task<decimal> SpentAsync() => (await client.GetFromJsonAsync<JsonElement>("/billing/usage")).GetProperty("total_usd").GetDecimal();
        decimal? previous = null;
        var (_, spentAtStop) = await Eventually.MatchAsync(async () =>
        {
            var (before, now) = (previous, await SpentAsync());
            previous = now;
            return (before, now);
        }, reads => reads.before == reads.now, TimeSpan.FromSeconds(15), "the spend to stop growing");

        var refused = await AssertErrorAsync(await client.PostAsJsonAsync("/deploy/llm", Tiny("another")), HttpStatusCode.PaymentRequired, null);
        Assert.Equal("spending_limit_reached", refused.GetProperty("code").GetString());
        await AssertErrorAsync(await client.PutAsync($"/deploy/{id}", Json("""{"settings": {"max_instances": 2}}""")), HttpStatusCode.PaymentRequired, null);
        await AssertErrorAsync(await client.PostAsync($"/deploy/{id}/start", null), HttpStatusCode.PaymentRequired, null);

        // Nothing was billed while the refusals above were answered: the meter stayed closed.
        Assert.Equal(spentAtStop, await SpentAsync());

        // Raising the limit lets the suspended deployment run again, with no further call.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/billing/limit", new { usd = 1_000_000 })).StatusCode);
        await RunningSystem.WaitForAsync(client, id, d => Status(d) == "running" && Running(d) == 1, TimeSpan.FromSeconds(60));

        var invoices = await client.GetFromJsonAsync<JsonElement>("/billing/invoices");
        var week = invoices[0].GetProperty("week").GetString()!;
        var invoice = await client.GetFromJsonAsync<JsonElement>($"/billing/invoices/{week}");
        var line = Assert.Single(invoice.GetProperty("lines").EnumerateArray());
        Assert.Equal("lena/pricey", line.GetProperty("model_name").GetString());
        Assert.True(line.GetProperty("amount_usd").GetDecimal() >= spent + 30);
        await AssertErrorAsync(await client.GetAsync("/billing/invoices/2026-W99"), HttpStatusCode.BadRequest, "week");
        await AssertErrorAsync(await client.PutAsJsonAsync("/billing/limit", new { usd = -5 }), HttpStatusCode.BadRequest, "usd");
        await AssertErrorAsync(await client.GetAsync("/billing/usage?from=yesterday"), HttpStatusCode.BadRequest, "from");

        using var admin = system.Client(RunningSystem.AdminToken);
        var totals = await admin.GetFromJsonAsync<JsonElement>("/admin/billing");
        var lena = Assert.Single(totals.GetProperty("users").EnumerateArray());
        Assert.True(lena.GetProperty("all_time_usd").GetDecimal() >= spent + 30);
    }
}
