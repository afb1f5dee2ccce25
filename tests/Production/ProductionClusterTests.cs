using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Production;

/// <summary>Acceptance of production mode against real PostgreSQL: separate silo, GPU-node and gateway processes.</summary>
[Collection(SystemCollection.Name)]
public sealed class ProductionClusterTests(ITestOutputHelper log)
{
    static readonly string[] ControlGrains = ["DeploymentGrain", "UserQuotaGrain", "UserDirectoryGrain", "NodeRegistryGrain"];

    [PostgresFact]
    public async Task A_SIGKILLed_silo_s_grains_come_back_on_another_silo_with_their_state_and_inference_continues()
    {
        await using var cluster = await ProductionCluster.CreateAsync(log);
        try
        {
            // The GPU node joins last, so that the control grains (deployment, user, directory, registry) are all
            // placed on control silos: the deployment waits for GPUs, then the node registers and it runs.
            await cluster.StartAsync([.. cluster.ControlSilos, cluster.Gateway]);
            var token = await cluster.CreateUserAsync("erin");
            using var client = cluster.Client(token);
            const string model = "survivor";
            var deployId = await ProductionCluster.DeployTinyAsync(client, model);
            await ProductionCluster.WaitForAsync(client, deployId, d => d.GetProperty("instances").GetProperty("pending").GetInt32() == 1, TimeSpan.FromSeconds(30));
            await cluster.StartAsync(cluster.Node);
            await ProductionCluster.WaitForAsync(client, deployId, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));

            // The victim: the control silo that hosts the deployment's grain.
            var activations = await cluster.ActivationsAsync(ControlGrains);
            Assert.All(activations, a => Assert.Equal("silo", a.Host.Role));
            var victim = activations.Single(a => a.Grain.Key.ToString() == deployId).Host;
            var lost = activations.Where(a => a.Host == victim).Select(a => a.Grain).ToList();
            log.WriteLine($"killing {victim.Name}, host of {string.Join(", ", lost)}");

            var (status, body) = await ProductionCluster.CompleteAsync(client, $"erin/{model}");
            Assert.True(status == HttpStatusCode.OK, $"inference before the crash: {status} {body}");
            var workerBefore = Assert.Single(cluster.WorkerPids());

            victim.Kill();
            var clock = Stopwatch.StartNew();

            // Inference and the deploy API through the gateway come back (Orleans declares the silo dead, the
            // grains activate again elsewhere from PostgreSQL).
            await Eventually.MatchAsync(
                async () =>
                {
                    var (inference, answer) = await ProductionCluster.CompleteAsync(client, $"erin/{model}");
                    using var get = await client.GetAsync($"/deploy/{deployId}");
                    return (Inference: inference, Get: get.StatusCode, Answer: answer);
                },
                seen => seen.Inference == HttpStatusCode.OK && seen.Get == HttpStatusCode.OK,
                TimeSpan.FromSeconds(90),
                "recovery of inference and the deploy API");

            log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s after SIGKILL: inference and deploy API answer again");

            // The grains are back on survivors, with their state: the same deployment, running the same worker
            // (nothing was restarted), the user's token and reservation intact.
            var back = await ProductionCluster.WaitForAsync(client, deployId, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(30));
            Assert.Equal($"erin/{model}", back.GetProperty("model_name").GetString());
            Assert.Equal(workerBefore, Assert.Single(cluster.WorkerPids()));
            var me = await client.GetFromJsonAsync<JsonElement>("/v1/me");
            Assert.Equal(1, me.GetProperty("gpus_reserved").GetInt32());

            // The control plane still works: a new user goes into the user directory; deleting stops the worker
            // through the GPU node and frees its GPUs in the node registry.
            await cluster.CreateUserAsync("erin2");
            var recovered = await cluster.ActivationsAsync(ControlGrains);
            Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{deployId}")).StatusCode);
            await Eventually.TrueAsync(() => cluster.WorkerPids().Length == 0, TimeSpan.FromSeconds(30), "the worker stopped after delete");

            // Every grain the dead silo hosted was called again since (the node reports the freed GPUs to the
            // registry just after the worker's exit), so it comes back on a survivor.
            var missing = lost.ToList();
            await Eventually.MatchAsync(
                async () =>
                {
                    recovered.AddRange(await cluster.ActivationsAsync(ControlGrains));
                    missing.RemoveAll(grain => recovered.Any(a => a.Grain == grain && a.Host != victim));
                    return string.Join(", ", missing);
                },
                notBack => notBack.Length == 0,
                TimeSpan.FromSeconds(20),
                "every lost grain back on a surviving silo");
            Assert.DoesNotContain(recovered, a => a.Host == victim);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    [PostgresFact]
    public async Task Restarting_every_process_loses_no_deployment_user_or_quota()
    {
        await using var cluster = await ProductionCluster.CreateAsync(log);
        try
        {
            await cluster.StartAllAsync();
            var frankToken = await cluster.CreateUserAsync("frank");
            var gretaToken = await cluster.CreateUserAsync("greta");
            using var frank = cluster.Client(frankToken);
            using var greta = cluster.Client(gretaToken);
            var served = await ProductionCluster.DeployTinyAsync(frank, "keeper", gpu: "H100-80GB");
            var idle = await ProductionCluster.DeployTinyAsync(greta, "sleeper", minInstances: 0);
            await ProductionCluster.WaitForAsync(frank, served, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            await ProductionCluster.WaitForAsync(greta, idle, d => d.GetProperty("status").GetString() == "running", TimeSpan.FromSeconds(30));
            var (status, body) = await ProductionCluster.CompleteAsync(frank, "frank/keeper");
            Assert.True(status == HttpStatusCode.OK, $"inference before the restart: {status} {body}");

            var before = await SnapshotAsync(cluster, frank, greta);
            await cluster.StopAllAsync();
            Assert.Empty(cluster.WorkerPids()); // the node stopped its engine with itself

            await cluster.StartAllAsync();

            // The served deployment comes back by itself (its worker is placed again) and answers.
            await ProductionCluster.WaitForAsync(frank, served, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            var after = await SnapshotAsync(cluster, frank, greta);
            Assert.Equal(before.Users, after.Users);
            Assert.Equal(before.Deployments, after.Deployments);
            Assert.Equal(before.Quotas, after.Quotas);
            await Eventually.MatchAsync(
                () => ProductionCluster.CompleteAsync(frank, "frank/keeper"),
                answer => answer.Status == HttpStatusCode.OK,
                TimeSpan.FromSeconds(30),
                "inference after the restart");

            // The operator's dashboard is served by the gateway (an Orleans client) from the silos' data.
            using (var admin = cluster.Client(ProductionCluster.AdminToken))
            {
                Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/dashboard/")).StatusCode);
            }

            // Names and quota are still enforced from the restored state.
            using var taken = await frank.PostAsJsonAsync("/deploy/llm", new { model_name = "keeper", gpu = "A100-80GB", hf = new { repo = ProductionCluster.TinyRepo } });
            Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    sealed record Snapshot(string Users, string Deployments, string Quotas);

    /// <summary>What must survive: users (the operator's view of every deployment, and each user's token still
    /// working), deployments (id, name, status, config) and quotas (limit, reserved GPUs).</summary>
    static async Task<Snapshot> SnapshotAsync(ProductionCluster cluster, params HttpClient[] users)
    {
        using var admin = cluster.Client(ProductionCluster.AdminToken);
        var all = await admin.GetFromJsonAsync<JsonElement>("/deploy/list");
        var deployments = string.Join("\n", all.EnumerateArray()
            .Select(d => $"{d.GetProperty("deploy_id")} {d.GetProperty("model_name")} {d.GetProperty("status")} {d.GetProperty("config")} {d.GetProperty("settings")}")
            .Order(StringComparer.Ordinal));
        var names = new List<string>();
        var quotas = new List<string>();
        foreach (var user in users)
        {
            var me = await user.GetFromJsonAsync<JsonElement>("/v1/me");
            names.Add(me.GetProperty("name").GetString()!);
            quotas.Add($"{me.GetProperty("name")} limit={me.GetProperty("gpu_limit")} reserved={me.GetProperty("gpus_reserved")}");
        }

        return new Snapshot(string.Join(",", names), deployments, string.Join("\n", quotas));
    }
}
