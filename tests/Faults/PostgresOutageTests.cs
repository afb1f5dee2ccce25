using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Faults;

/// <summary>
/// Production mode with its PostgreSQL server stopped for a while (a server of the test's own): the deploy API's
/// writes answer 503 <c>storage_unavailable</c> with Retry-After and change nothing, reads of active deployments and
/// inference keep answering, and after the server returns the same calls succeed with nothing half-written.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class PostgresOutageTests(ITestOutputHelper log)
{
    [PostgresFact]
    public async Task During_an_outage_writes_answer_503_and_change_nothing_inference_goes_on_and_all_resumes_after()
    {
        await using var postgres = await OwnPostgres.StartAsync();
        await using var cluster = await ProductionCluster.CreateAsync(log, controlSilos: 1, postgresServer: postgres.ConnectionString);
        try
        {
            await cluster.StartAllAsync();
            var token = await cluster.CreateUserAsync("olga");
            using var client = cluster.Client(token);
            var steady = await ProductionCluster.DeployTinyAsync(client, "steady");
            await ProductionCluster.WaitForAsync(client, steady, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(120));
            await AssertInferenceAsync(client, "before the outage");

            await postgres.PauseAsync();
            var clock = Stopwatch.StartNew();

            // Every write refused the same way, and never a 500.
            await AssertUnavailableAsync(await client.PostAsJsonAsync("/deploy/llm", TinyBody("fresh")), "create");
            await AssertUnavailableAsync(await client.PutAsJsonAsync($"/deploy/{steady}", new { settings = new { min_instances = 0, max_instances = 1 } }), "scale");
            await AssertUnavailableAsync(await client.DeleteAsync($"/deploy/{steady}"), "delete");

            // Reads of what is active and the data plane go on: a few control-loop ticks (2 s) pass failing to write.
            await AssertInferenceAsync(client, "during the outage");
            var during = await client.GetFromJsonAsync<JsonElement>($"/deploy/{steady}");
            Assert.Equal("running", during.GetProperty("status").GetString());
            await Eventually.TrueAsync(() => Task.FromResult(clock.Elapsed > TimeSpan.FromSeconds(8)), TimeSpan.FromSeconds(30), "an outage of 8 s");
            await AssertInferenceAsync(client, "at the end of the outage");

            await postgres.ResumeAsync();
            log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: PostgreSQL back");

            // Nothing of the refused calls happened: the same deployment, settings and name, no "fresh".
            var after = await client.GetFromJsonAsync<JsonElement>($"/deploy/{steady}");
            Assert.Equal("running", after.GetProperty("status").GetString());
            Assert.Equal(1, after.GetProperty("settings").GetProperty("min_instances").GetInt32());
            var list = await client.GetStringAsync("/deploy/list");
            Assert.DoesNotContain("\"olga/fresh\"", list, StringComparison.Ordinal);

            // The same calls succeed by themselves once the database answers (no restart of anything).
            var fresh = await Eventually.MatchAsync(
                async () => await client.PostAsJsonAsync("/deploy/llm", TinyBody("fresh")),
                r => r.StatusCode != HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(60),
                "create after the outage");
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            var freshId = (await fresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
            // A grain whose write timed out during the outage may answer one more 503 (Retry-After) while it re-reads.
            var scaled = await Eventually.MatchAsync(
                async () => await client.PutAsJsonAsync($"/deploy/{steady}", new { settings = new { min_instances = 0, max_instances = 1 } }),
                r => r.StatusCode != HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(30),
                "scale after the outage");
            Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
            Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>($"/deploy/{steady}")).GetProperty("settings").GetProperty("min_instances").GetInt32());
            await AssertInferenceAsync(client, "after the outage");
            Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{freshId}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{steady}")).StatusCode);

            // Consistent afterwards: the user's name claims and GPU reservations are all given back.
            await Eventually.MatchAsync(
                () => client.GetFromJsonAsync<JsonElement>("/v1/me"),
                me => me.GetProperty("gpus_reserved").GetInt32() == 0,
                TimeSpan.FromSeconds(60),
                "every GPU reservation released after the deletes");
            await Eventually.TrueAsync(() => cluster.WorkerPids().Length == 0, TimeSpan.FromSeconds(60), "every worker stopped");
            var recreated = await client.PostAsJsonAsync("/deploy/llm", TinyBody("steady"));
            Assert.Equal(HttpStatusCode.OK, recreated.StatusCode);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    static object TinyBody(string name) => new
    {
        model_name = name,
        gpu = "A100-80GB",
        max_batch_size = 2,
        hf = new { repo = ProductionCluster.TinyRepo, token = "hf_test_token" },
        settings = new { min_instances = 1, max_instances = 1 },
    };

    async Task AssertUnavailableAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        log.WriteLine($"{what} during the outage: {(int)response.StatusCode} {body}");
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{what}: {(int)response.StatusCode} {body}");
        Assert.NotNull(response.Headers.RetryAfter);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("storage_unavailable", error.GetProperty("code").GetString());
    }

    static async Task AssertInferenceAsync(HttpClient client, string when)
    {
        var (status, body) = await ProductionCluster.CompleteAsync(client, "olga/steady");
        Assert.True(status == HttpStatusCode.OK, $"inference {when}: {status} {body}");
    }
}
