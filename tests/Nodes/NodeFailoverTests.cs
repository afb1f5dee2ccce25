using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Tests.Chaos;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Nodes;

/// <summary>Production mode (PostgreSQL, separate processes): a GPU host that vanishes — its silo and its engines
/// SIGKILLed together — and its deployment serving again from the other GPU node.</summary>
[Collection(SystemCollection.Name)]
public sealed class NodeFailoverTests(ITestOutputHelper log)
{
    const string SecondNode = "gpu-host-2";

    [PostgresFact]
    public async Task A_vanished_GPU_host_s_deployment_serves_again_from_another_node()
    {
        await using var cluster = await ProductionCluster.CreateAsync(log);
        var second = cluster.Add("node-2", "node", new() { ["DeepDeploy__Node__Name"] = SecondNode, ["DeepDeploy__Node__SimulatedGpus"] = "2xA100-80GB" });
        try
        {
            // The GPU nodes join last, so that the control grains (the node registry among them) live on control silos.
            await cluster.StartAsync([.. cluster.ControlSilos, cluster.Gateway]);
            var token = await cluster.CreateUserAsync("nora");
            using var client = cluster.Client(token);
            const string model = "wanderer";
            var deployId = await ProductionCluster.DeployTinyAsync(client, model);
            await cluster.StartAsync([.. cluster.Processes.Where(p => p.Role == "node")]);
            await ProductionCluster.WaitForAsync(client, deployId, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            var (status, body) = await ProductionCluster.CompleteAsync(client, $"nora/{model}");
            Assert.True(status == HttpStatusCode.OK, $"inference before the crash: {status} {body}");

            var orleans = await cluster.OrleansClientAsync();
            var registry = orleans.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
            var hosting = (await registry.List()).Single(n => n.Deployments?.Contains(deployId) == true).Node;
            var victim = hosting == SecondNode ? second : cluster.Processes.Single(p => p.Role == "node" && p != second);
            var survivor = hosting == SecondNode ? ProductionCluster.NodeName : SecondNode;

            // Where the control grains live (any silo may hold them, the victim's too): what to look at if this fails.
            var management = orleans.GetGrain<IManagementGrain>(0);
            log.WriteLine($"registry on {await management.GetActivationAddress(registry)}, deployment on "
                + $"{await management.GetActivationAddress(orleans.GetGrain<IDeploymentGrain>(deployId))}; {hosting} (victim) on "
                + (await registry.List()).Single(n => n.Node == hosting).Silo);

            // The whole host at once: the silo and its engines (an orphaned engine would go on serving).
            var engines = ProductionCluster.WorkerPids(victim);
            Assert.Single(engines);
            var killedAt = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            victim.Kill();
            foreach (var pid in engines)
            {
                EnginePids.Kill(pid);
            }

            // Short attempts: one that hangs on the dead host must not use up the window.
            using var attempts = SystemHttp.Client(cluster.Gateway.BaseAddress, token, TimeSpan.FromSeconds(15));
            await Eventually.MatchAsync(
                () => ProductionCluster.CompleteAsync(attempts, $"nora/{model}"),
                seen => seen.Status == HttpStatusCode.OK,
                TimeSpan.FromSeconds(120),
                "inference served again from the other node");
            var served = clock.Elapsed;

            // What declared the node lost: its lease (no report from the node) or cluster membership (its silo dead).
            var lost = await Eventually.MatchAsync(
                async () => (await orleans.GetGrain<IEventLogGrain>(deployId).Read(null, 200)).Events
                    .FirstOrDefault(e => e.Kind == DeploymentEventKind.Failed && e.Node == hosting),
                e => e is not null, TimeSpan.FromSeconds(10), "the lost instance's event");
            Assert.True(lost!.FailureReason is "node lease expired" or "node down", $"lost by '{lost.FailureReason}': {lost.Message}");

            // The registry's view: the survivor live and holding the deployment, the vanished host out of placement.
            await Eventually.MatchAsync(
                async () =>
                {
                    var all = await registry.All();
                    var settled = all.Any(n => n.Capacity.Node == survivor && n.State == NodeState.Live && n.Capacity.Deployments?.Contains(deployId) == true)
                        && all.All(n => n.Capacity.Node != hosting || n.State != NodeState.Live);
                    return (Settled: settled, Nodes: string.Join("; ", all.Select(n => $"{n.Capacity.Node} {n.State} [{string.Join(",", n.Capacity.Deployments ?? [])}]")));
                },
                seen => seen.Settled, TimeSpan.FromSeconds(10), $"the registry showing {survivor} live with {deployId} and {hosting} not live");

            // The operator's view: the vanished host is no longer live, the survivor's GPU is held by the deployment.
            using var admin = cluster.Client(ProductionCluster.AdminToken);
            var nodes = (await admin.GetFromJsonAsync<JsonElement>("/admin/nodes")).GetProperty("nodes").EnumerateArray().ToList();
            var gone = nodes.Single(n => n.GetProperty("name").GetString() == hosting);
            Assert.Contains(gone.GetProperty("state").GetString(), new[] { "lost", "silo_down" });
            Assert.Contains(nodes.Single(n => n.GetProperty("name").GetString() == survivor).GetProperty("gpus").EnumerateArray(),
                g => g.GetProperty("deploy_id").GetString() == deployId && g.GetProperty("owner").GetString() == "nora");
            log.WriteLine($"/admin/nodes: {hosting} {gone.GetProperty("state").GetString()}, unreachable: {gone.GetProperty("unreachable")}");

            log.WriteLine($"host {hosting} SIGKILLed: declared lost after {(lost.Time - killedAt).TotalSeconds:0.0} s by '{lost.FailureReason}' "
                + $"({lost.Message}); inference served again from {survivor} after {served.TotalSeconds:0.0} s");

            // Where the time to serve again went: the replacement's phases, as its deployment recorded them.
            var timeline = (await orleans.GetGrain<IEventLogGrain>(deployId).Read(null, 200)).Events.Where(e => e.Time >= killedAt).ToList();
            var events = string.Join("\n", timeline.Select(e => $"- +{(e.Time - killedAt).TotalSeconds:0.0} s {e.Message}"));
            log.WriteLine(events);
            string At(Func<DeploymentEvent, bool> match) => timeline.FirstOrDefault(e => e.Node == survivor && match(e)) is { } e
                ? $"{(e.Time - killedAt).TotalSeconds:0.0} s"
                : "—";
            ReliabilityReport.Write("failover", "a GPU host (silo and engine) SIGKILLed, its deployment's replacement on the other node", $"""
                | decided by | → decision | → placed | → downloading | → engine starting | → running (health check passed) | → first answer from the other node |
                |---|---:|---:|---:|---:|---:|---:|
                | {lost.FailureReason} | {(lost.Time - killedAt).TotalSeconds:0.0} s | {At(e => e.Kind == DeploymentEventKind.Placed)} | {At(e => e.Phase == InstancePhase.Downloading)} | {At(e => e.Phase == InstancePhase.Starting)} | {At(e => e.Phase == InstancePhase.Running)} | {served.TotalSeconds:0.0} s |

                The deployment's events after the SIGKILL:

                {events}
                """);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }
}
