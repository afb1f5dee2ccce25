using System.Net;
using System.Net.Http.Json;
using System.Text;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// The chaos suite: under steady traffic (streams and non-streams, each retried by the client on failure), faults
/// in turn on a production-mode cluster of real processes. For each, a row of <see cref="FaultRow"/>. It fails on
/// any lost request (no answer, a clean but incomplete stream, a duplicated answer), a 500, a worker holding more
/// than max_batch_size, a deployment not back at full strength within 2 minutes, or any deployment, user, quota or
/// meter lost. The CI form strikes three faults; <c>DEEPDEPLOY_CHAOS=full</c> strikes all six.
/// </summary>
[Collection(SystemCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class ChaosTests(ITestOutputHelper log)
{
    const int Instances = 2;
    const int MaxBatchSize = 4;
    static readonly TimeSpan RecoveryLimit = TimeSpan.FromMinutes(2);
    static readonly TimeSpan PostgresOutage = TimeSpan.FromSeconds(10);
    const string GatewayRestart = "restart the gateway (SIGTERM, start)";

    static bool Full => string.Equals(Environment.GetEnvironmentVariable("DEEPDEPLOY_CHAOS"), "full", StringComparison.OrdinalIgnoreCase);

    [PostgresFact]
    public async Task Faults_under_traffic_lose_no_request_deployment_user_quota_or_meter()
    {
        // 20 tokens/s and 16 tokens: a request lasts 0.8 s, so a kill finds streams mid-answer.
        await using var chaos = await ChaosCluster.StartAsync(log, "--engine fake --fake-token-rate 20", gpusPerNode: 2);
        var cluster = chaos.Cluster;
        try
        {
            var aliceToken = await chaos.UserAsync("alice", gpus: 4, concurrent: 64);
            var bobToken = await chaos.UserAsync("bob", gpus: 4, concurrent: 64);
            var deployId = await chaos.DeployAsync(aliceToken, "steady", Instances, MaxBatchSize);
            await chaos.DeployAsync(bobToken, "idle", 0, MaxBatchSize);
            using var alice = chaos.Client(aliceToken);
            using var bob = chaos.Client(bobToken);
            using var admin = chaos.Client(ProductionCluster.AdminToken);
            var users = new Dictionary<string, HttpClient> { ["alice"] = alice, ["bob"] = bob };

            var faults = Faults(chaos, deployId);
            var rows = new List<FaultRow>();
            var peaks = new Dictionary<int, WorkerScrape>();
            using var scrapeClient = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await using var traffic = new TrafficLoop(chaos.Gateway, aliceToken, "alice/steady", streams: 4, plain: 4, maxTokens: 16, TimeSpan.FromSeconds(60));

            // Steady traffic first: the baseline row must be clean.
            var steadyFrom = DateTime.UtcNow;
            await Eventually.TrueAsync(() => traffic.Attempts.Count(a => a.Outcome == AttemptOutcome.Ok) >= 40, TimeSpan.FromSeconds(60), "steady traffic answered");
            var marks = new List<(string Fault, DateTime At, double? Serving, double? Writes, string Lost)>
            {
                ("none (steady traffic)", steadyFrom, 0, 0, "—"),
            };

            foreach (var fault in faults)
            {
                var before = await StateSnapshot.TakeAsync(admin, users);
                await ScrapePeaksAsync(chaos, scrapeClient, peaks);
                log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.f} striking: {fault.Name}");
                var at = DateTime.UtcNow;
                var dead = await fault.Strike();
                var (serving, writes) = await RecoveryAsync(chaos, alice, bob, deployId, dead, at);
                log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.f} {fault.Name}: serving after {serving:0.0} s, writes after {writes:0.0} s");
                await fault.Repair();
                await SystemHttp.WaitForDeploymentAsync(alice, deployId, d => ChaosCluster.Running(d) == Instances, RecoveryLimit);
                var lost = before.Lost(await Eventually.MatchAsync(() => StateSnapshot.TakeAsync(admin, users), _ => true, TimeSpan.FromSeconds(30), "a snapshot"));
                var lostText = $"{lost.Deployments.Count} / {lost.Users.Count} / {lost.Quotas.Count} / {lost.Meters.Count}";
                foreach (var what in lost.Deployments.Concat(lost.Users).Concat(lost.Quotas).Concat(lost.Meters))
                {
                    log.WriteLine($"  lost after {fault.Name}: {what}");
                }

                marks.Add((fault.Name, at, serving, writes, lostText));
            }

            await traffic.StopAsync();
            await ScrapePeaksAsync(chaos, scrapeClient, peaks);
            var attempts = traffic.Attempts.ToList();
            for (var i = 0; i < marks.Count; i++)
            {
                var until = i + 1 < marks.Count ? marks[i + 1].At : DateTime.MaxValue;
                rows.Add(FaultRow.From(marks[i].Fault, marks[i].At, until, attempts, marks[i].Serving, marks[i].Writes, marks[i].Lost));
            }

            var table = new StringBuilder(FaultRow.Header).AppendLine();
            foreach (var row in rows)
            {
                table.AppendLine(row.ToString());
            }

            var peak = peaks.Values.Select(p => Math.Max(p.InFlightPeak, p.RunningPeak)).DefaultIfEmpty(0).Max();
            var summary = $"{traffic.Started} logical requests, {attempts.Count} attempts, {traffic.GaveUp.Count} given up after retrying for {TrafficLoop.RetryBudget.TotalSeconds:0} s; "
                + $"highest in flight at a worker: {peak} (max_batch_size {MaxBatchSize}) over {peaks.Count} worker processes";
            log.WriteLine(table.ToString());
            log.WriteLine(summary);
            ReliabilityReport.Write("chaos", Full ? "full form (DEEPDEPLOY_CHAOS=full), six faults" : "CI form, three faults",
                table + "\n" + summary);

            Assert.All(rows, r => Assert.True(r.Lost == 0, $"{r.Fault}: {r.Lost} requests lost (no answer, clean but incomplete, or duplicated)"));
            Assert.All(rows, r => Assert.True(r.ServerErrors == 0, $"{r.Fault}: {r.ServerErrors} answers were 500"));
            // While the gateway lives, a stream whose engine dies ends with an upstream_failed event, never cut.
            Assert.All(rows.Where(r => r.Fault != GatewayRestart), r => Assert.DoesNotContain("cut ×", r.FailedBy, StringComparison.Ordinal));
            Assert.All(rows, r => Assert.True(r.StateLost is "—" or "0 / 0 / 0 / 0", $"{r.Fault}: lost deployments / users / quotas / meters {r.StateLost}"));
            Assert.All(rows, r => Assert.True(r.ServingAfterSeconds is not null && r.WritesAfterSeconds is not null, $"{r.Fault}: not back within {RecoveryLimit}"));
            Assert.True(peak <= MaxBatchSize, $"a worker held {peak} requests, above max_batch_size {MaxBatchSize}");
            Assert.Empty(traffic.GaveUp);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    IEnumerable<ChaosFault> Faults(ChaosCluster chaos, string deployId)
    {
        var cluster = chaos.Cluster;
        ClusterProcess? killedSilo = null;
        ClusterProcess? killedNode = null;

        async Task<IReadOnlySet<int>> KillGrainHost()
        {
            killedSilo = await chaos.HostOfAsync(deployId);
            log.WriteLine($"  the deployment's grain is on {killedSilo.Name}");
            var engines = chaos.Workers().Where(w => w.Node == killedSilo.Name).Select(w => w.Pid).ToHashSet();
            if (killedSilo.Role == "node")
            {
                chaos.KillHost(killedSilo);
            }
            else
            {
                killedSilo.Kill();
            }

            return engines;
        }

        async Task Restart(ClusterProcess? process)
        {
            if (process is { IsRunning: false })
            {
                await chaos.StartAsync(process);
            }
        }

        var worker = new ChaosFault("SIGKILL a gpu-worker mid-stream",
            async () => new HashSet<int> { KillBusyWorker(await BusyWorkerAsync(chaos)) },
            () => Task.CompletedTask);
        var silo = new ChaosFault("SIGKILL the silo hosting the deployment's grain", KillGrainHost, () => Restart(killedSilo));
        var postgres = new ChaosFault($"PostgreSQL unreachable for {PostgresOutage.TotalSeconds:0} s",
            () =>
            {
                chaos.Database.Cut();
                _ = Task.Delay(PostgresOutage).ContinueWith(_ => chaos.Database.Restore(), TaskScheduler.Default);
                return Task.FromResult<IReadOnlySet<int>>(new HashSet<int>());
            },
            () => Eventually.TrueAsync(() => chaos.Database.IsListening, PostgresOutage * 2, "PostgreSQL back"));
        if (!Full)
        {
            return [worker, silo, postgres];
        }

        var node = new ChaosFault("SIGKILL a GPU node (silo and engines)",
            () =>
            {
                killedNode = chaos.Nodes.First(n => chaos.Workers().Any(w => w.Node == n.Name));
                var engines = chaos.Workers().Where(w => w.Node == killedNode.Name).Select(w => w.Pid).ToHashSet();
                chaos.KillHost(killedNode);
                return Task.FromResult<IReadOnlySet<int>>(engines);
            },
            () => Restart(killedNode));
        var gateway = new ChaosFault(GatewayRestart,
            async () =>
            {
                await cluster.Gateway.StopAsync(TimeSpan.FromSeconds(60));
                await chaos.StartAsync(cluster.Gateway);
                return new HashSet<int>();
            },
            () => Task.CompletedTask);
        var together = new ChaosFault("SIGKILL the grain's silo and a gpu-worker together",
            async () =>
            {
                var busy = await BusyWorkerAsync(chaos);
                var engines = (await KillGrainHost()).ToHashSet();
                engines.Add(KillBusyWorker(busy));
                return engines;
            },
            () => Restart(killedSilo));
        return [worker, silo, node, gateway, postgres, together];
    }

    /// <summary>A worker with a request live in its batch, so that its kill cuts answers mid-stream.</summary>
    static async Task<WorkerProcess> BusyWorkerAsync(ChaosCluster chaos)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        return await Eventually.ValueAsync(async () =>
        {
            foreach (var worker in chaos.Workers())
            {
                var text = await http.GetStringAsync($"http://127.0.0.1:{worker.Port}/metrics");
                if (Soak.PrometheusText.Sum(text, WorkerProtocol.WorkerProtocol.Metrics.RequestsRunning) > 0)
                {
                    return worker;
                }
            }

            return null;
        }, TimeSpan.FromSeconds(30), "a worker with requests in its batch");
    }

    static int KillBusyWorker(WorkerProcess worker)
    {
        EnginePids.Kill(worker.Pid);
        return worker.Pid;
    }

    /// <summary>Seconds from the fault until (1) the deployment serves at full strength — the API says all instances
    /// run, that many engines other than the killed ones are up, and a completion answers — and (2) the deploy API
    /// writes again (a spending-limit change, a real storage write). Null for what did not come back in time.</summary>
    static async Task<(double? Serving, double? Writes)> RecoveryAsync(ChaosCluster chaos, HttpClient user, HttpClient writer,
        string deployId, IReadOnlySet<int> dead, DateTime at)
    {
        double? serving = null;
        double? writes = null;
        var limit = 1_000_000m;
        using var probe = SystemHttp.Client(chaos.Gateway, null, TimeSpan.FromSeconds(5));
        probe.DefaultRequestHeaders.Authorization = user.DefaultRequestHeaders.Authorization;
        using var write = SystemHttp.Client(chaos.Gateway, null, TimeSpan.FromSeconds(5));
        write.DefaultRequestHeaders.Authorization = writer.DefaultRequestHeaders.Authorization;
        try
        {
            await Eventually.MatchAsync(async () =>
            {
                serving ??= await ServesAtFullStrengthAsync(chaos, probe, deployId, dead) ? (DateTime.UtcNow - at).TotalSeconds : null;
                if (writes is null)
                {
                    try
                    {
                        using var response = await write.PutAsJsonAsync("/billing/limit", new { usd = limit++ });
                        writes = response.StatusCode == HttpStatusCode.OK ? (DateTime.UtcNow - at).TotalSeconds : null;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // the gateway restarts
                    }
                }

                return serving is not null && writes is not null;
            }, done => done, RecoveryLimit, "serving at full strength and writing");
        }
        catch (TimeoutException)
        {
            // reported in the row as "not within the limit"
        }

        return (serving, writes);
    }

    static async Task<bool> ServesAtFullStrengthAsync(ChaosCluster chaos, HttpClient user, string deployId, IReadOnlySet<int> dead)
    {
        try
        {
            var deploy = await user.GetFromJsonAsync<System.Text.Json.JsonElement>($"/deploy/{deployId}");
            if (ChaosCluster.Running(deploy) != Instances || chaos.Workers().Count(w => !dead.Contains(w.Pid)) < Instances)
            {
                return false;
            }

            using var answer = await user.PostAsJsonAsync("/v1/openai/chat/completions",
                new { model = "alice/steady", messages = new[] { new { role = "user", content = "probe" } }, max_tokens = 1 });
            return answer.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    static async Task ScrapePeaksAsync(ChaosCluster chaos, HttpClient http, Dictionary<int, WorkerScrape> peaks)
    {
        foreach (var worker in chaos.Workers())
        {
            if (await worker.ScrapeAsync(http) is { } scrape)
            {
                peaks[worker.Pid] = scrape;
            }
        }
    }
}
