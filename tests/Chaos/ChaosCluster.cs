using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// The production-mode cluster the chaos, load and soak suites run on: two control silos, two GPU-node silos
/// (simulated GPUs — the one test double, there is no GPU here — running real gpu-worker processes on the
/// worker's fake engine, which paces canned tokens instead of computing them), one gateway, all real processes on
/// PostgreSQL reached through a <see cref="PostgresProxy"/> so that the database can be taken away.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    public const string Gpu = "A100-80GB";

    ChaosCluster(ProductionCluster cluster, PostgresProxy database)
    {
        Cluster = cluster;
        Database = database;
    }

    public ProductionCluster Cluster { get; }

    public PostgresProxy Database { get; }

    public IEnumerable<ClusterProcess> Nodes => Cluster.Processes.Where(p => p.Role == "node");

    public Uri Gateway => Cluster.Gateway.BaseAddress;

    /// <param name="workerArgs">The workers' engine, e.g. "--engine fake --fake-token-rate 20".</param>
    /// <param name="gpusPerNode">A100s per GPU node.</param>
    /// <param name="gatewaySettings">Extra environment of the gateway (e.g. its admission limits).</param>
    /// <param name="controlSilos">Control silos (grains also live on the node silos).</param>
    public static async Task<ChaosCluster> StartAsync(ITestOutputHelper log, string workerArgs, int gpusPerNode,
        IReadOnlyDictionary<string, string>? gatewaySettings = null, int controlSilos = 2)
    {
        var database = new PostgresProxy(PostgresFactAttribute.Require());
        ProductionCluster? cluster = null;
        try
        {
            cluster = await ProductionCluster.CreateAsync(log, controlSilos, environment: (name, environment) =>
            {
                environment["DEEPDEPLOY_DATABASE"] = database.Through(environment["DEEPDEPLOY_DATABASE"]);
                if (name.StartsWith("node-", StringComparison.Ordinal))
                {
                    environment["DeepDeploy__Node__SimulatedGpus"] = $"{gpusPerNode}x{Gpu}";
                    environment["DeepDeploy__Node__WorkerArgs"] = workerArgs;
                }
                else if (name.StartsWith("gateway-", StringComparison.Ordinal))
                {
                    foreach (var (key, value) in gatewaySettings ?? new Dictionary<string, string>())
                    {
                        environment[key] = value;
                    }
                }
            });
            cluster.Add("node-2", "node", new() { ["DeepDeploy__Node__Name"] = "gpu-host-2" });
            // The control silos first: on a busy machine, six silos joining at once time out validating each other.
            var chaos = new ChaosCluster(cluster, database);
            await chaos.StartAsync([.. cluster.ControlSilos]);
            try
            {
                await chaos.StartAsync([.. cluster.Processes.Where(p => !p.IsRunning)]);
            }
            catch (InvalidOperationException e)
            {
                // A finding, not the subject: on an overloaded machine a GPU node's start-up registration call can
                // time out (30 s), and the node exits instead of retrying. Logged; started once more.
                log.WriteLine($"start-up: {e.Message.Split('\n')[0]}; starting what exited once more");
                await chaos.StartAsync([.. cluster.Processes.Where(p => !p.IsRunning)]);
            }

            return chaos;
        }
        catch
        {
            cluster?.DumpLogs();
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }
    }

    public HttpClient Client(string? token) => Cluster.Client(token);

    /// <summary>Starts processes at once and waits until each serves /health: up to 5 minutes, since a loaded
    /// 2-core machine starts a silo in well over the 2 minutes ProductionCluster allows.</summary>
    public async Task StartAsync(params ClusterProcess[] processes)
    {
        foreach (var process in processes)
        {
            process.Start();
        }

        await Task.WhenAll(processes.Select(p => p.WaitHealthyAsync(TimeSpan.FromMinutes(5))));
    }

    /// <summary>A user with room for <paramref name="gpus"/> GPUs and <paramref name="concurrent"/> requests in flight.</summary>
    public async Task<string> UserAsync(string name, int gpus, int concurrent)
    {
        var token = await Cluster.CreateUserAsync(name);
        using var admin = Client(ProductionCluster.AdminToken);
        using var quota = await admin.PutAsJsonAsync($"/admin/users/{name}/quota", new { gpu_limit = gpus, max_concurrent_requests = concurrent });
        Assert.Equal(HttpStatusCode.OK, quota.StatusCode);
        return token;
    }

    /// <summary>Deploys the tiny model with a fixed number of instances (0: scaled to zero, at most 1) and waits until all of them serve.</summary>
    public async Task<string> DeployAsync(string token, string name, int instances, int maxBatchSize)
    {
        using var client = Client(token);
        using var response = await client.PostAsJsonAsync("/deploy/llm", new
        {
            model_name = name,
            gpu = Gpu,
            max_batch_size = maxBatchSize,
            hf = new { repo = ProductionCluster.TinyRepo, token = "hf_test_token" },
            settings = new { min_instances = instances, max_instances = Math.Max(1, instances) },
        });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"deploy {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var deployId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
        if (instances > 0)
        {
            await SystemHttp.WaitForDeploymentAsync(client, deployId, d => Running(d) == instances, TimeSpan.FromSeconds(120));
        }

        return deployId;
    }

    public static int Running(JsonElement deploy) =>
        deploy.GetProperty("status").GetString() == "running" ? deploy.GetProperty("instances").GetProperty("running").GetInt32() : -1;

    public List<WorkerProcess> Workers() => WorkerProcess.Of(Nodes);

    /// <summary>The process that hosts the grain with this key (a control silo, or a node silo).</summary>
    public async Task<ClusterProcess> HostOfAsync(string grainKey) =>
        (await Cluster.ActivationsAsync("DeploymentGrain")).Single(a => a.Grain.Key.ToString() == grainKey).Host;

    /// <summary>SIGKILL of a GPU host: the node silo and its engines die together.</summary>
    public void KillHost(ClusterProcess node)
    {
        var engines = Workers().Where(w => w.Node == node.Name).ToList();
        node.Kill();
        foreach (var engine in engines)
        {
            EnginePids.Kill(engine.Pid);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}
