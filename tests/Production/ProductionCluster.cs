using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.LocalHub;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Production;

/// <summary>
/// DeepDeploy in production mode on this machine: a fresh PostgreSQL database, a test-hosted Hugging Face hub
/// stand-in (HF_ENDPOINT), and real OS processes started with <c>--role</c>: control silos, one GPU-node silo
/// (simulated GPUs, real worker processes) and a gateway that is an Orleans client. The test process also
/// joins as an Orleans client to see where grains live.
/// </summary>
public sealed class ProductionCluster : IAsyncDisposable
{
    public const string AdminToken = SystemHttp.AdminToken;
    public const string NodeName = "gpu-host-1";
    public const string TinyRepo = LocalHubSeeder.TinyRepo;

    readonly ITestOutputHelper _log;
    readonly WebApplication _hub;
    readonly string _root;
    readonly string _clusterId = "prod-" + Guid.NewGuid().ToString("N")[..8];
    readonly Action<string, Dictionary<string, string>>? _environment;
    IHost? _client;

    ProductionCluster(ITestOutputHelper log, TestDatabase database, WebApplication hub, string hubEndpoint, string root,
        Action<string, Dictionary<string, string>>? environment)
    {
        _environment = environment;
        _log = log;
        Database = database;
        _hub = hub;
        HubEndpoint = hubEndpoint;
        _root = root;
    }

    public TestDatabase Database { get; }

    public string ClusterId => _clusterId;

    public string HubEndpoint { get; }

    public List<ClusterProcess> Processes { get; } = [];

    public ClusterProcess Gateway => Processes.Single(p => p.Role == "gateway");

    public ClusterProcess Node => Processes.Single(p => p.Role == "node");

    public IEnumerable<ClusterProcess> ControlSilos => Processes.Where(p => p.Role == "silo");

    /// <summary>Database, hub, and the processes (not started yet): control silos, a GPU node, a gateway.
    /// <paramref name="environment"/> adds settings to a process by its name (e.g. TLS certificates);
    /// <paramref name="postgresServer"/> is a server of the test's own instead of the shared one.</summary>
    public static async Task<ProductionCluster> CreateAsync(ITestOutputHelper log, int controlSilos = 2,
        Action<string, Dictionary<string, string>>? environment = null, string? postgresServer = null)
    {
        var database = await TestDatabase.CreateAsync(postgresServer);
        var root = SystemHttp.NewDataDirectory("deepdeploy-prod-");
        if (OperatingSystem.IsLinux())
        {
            // Traversable, not listable: a root GPU node's engines run as other users and must reach their directories.
            File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }


        var hubDirectory = Path.Combine(root, "hub");
        LocalHubSeeder.EnsureSeeded(hubDirectory);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var hub = builder.Build();
        hub.Urls.Add("http://127.0.0.1:0");
        hub.MapLocalHub("/hub", hubDirectory);
        await hub.StartAsync();
        var hubAddress = hub.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');

        var cluster = new ProductionCluster(log, database, hub, hubAddress + "/hub", root, environment);
        for (var i = 1; i <= controlSilos; i++)
        {
            cluster.Add($"silo-{i}", "silo");
        }

        cluster.Add("node-1", "node", new() { ["DeepDeploy__Node__Name"] = NodeName, ["DeepDeploy__Node__SimulatedGpus"] = "2xA100-80GB,2xH100-80GB" });
        cluster.Add("gateway-1", "gateway");
        return cluster;
    }

    public ClusterProcess Add(string name, string role, Dictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["DEEPDEPLOY_DATABASE"] = Database.ConnectionString,
            ["DEEPDEPLOY_ADMIN_TOKEN"] = AdminToken,
            ["HF_ENDPOINT"] = HubEndpoint,
            ["DeepDeploy__ClusterId"] = _clusterId,
            ["DeepDeploy__ServiceId"] = _clusterId,
        };
        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }

        _environment?.Invoke(name, environment);
        var process = new ClusterProcess(name, role, Path.Combine(_root, name), environment);
        Processes.Add(process);
        return process;
    }

    /// <summary>Starts every process that is not running, all at once, and waits until each serves /health.</summary>
    public Task StartAllAsync() => StartAsync(Processes.Where(p => !p.IsRunning).ToArray());

    /// <summary>Starts the given processes at once and waits until each serves /health.</summary>
    public async Task StartAsync(params ClusterProcess[] starting)
    {
        var clock = Stopwatch.StartNew();
        foreach (var process in starting)
        {
            process.Start();
        }

        await Task.WhenAll(starting.Select(p => p.WaitHealthyAsync(TimeSpan.FromSeconds(120))));
        _log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: started {string.Join(", ", starting.Select(p => p.Name))}");
    }

    /// <summary>SIGTERM to every process (gateway first, GPU node last), as a rolling-less full restart would.</summary>
    public async Task StopAllAsync()
    {
        await DisposeClientAsync();
        var clock = Stopwatch.StartNew();
        foreach (var process in Processes.OrderBy(p => p.Role switch { "gateway" => 0, "silo" => 1, _ => 2 }))
        {
            await process.StopAsync(TimeSpan.FromSeconds(60));
        }

        _log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: stopped every process");
    }

    public HttpClient Client(string? token) => SystemHttp.Client(Gateway.BaseAddress, token, TimeSpan.FromSeconds(60));

    public async Task<string> CreateUserAsync(string name)
    {
        using var admin = Client(AdminToken);
        return await SystemHttp.CreateUserAsync(admin, name);
    }

    /// <summary>Deploys the tiny model; with a Hugging Face token (sealed by the gateway's Data Protection, opened
    /// by the silo that resolves the weights and by the GPU node that downloads them: one shared key ring).</summary>
    public static async Task<string> DeployTinyAsync(HttpClient client, string modelName, int minInstances = 1, string gpu = "A100-80GB", string hfToken = "hf_test_token")
    {
        var response = await client.PostAsJsonAsync("/deploy/llm", new
        {
            model_name = modelName,
            gpu,
            max_batch_size = 2,
            hf = new { repo = TinyRepo, token = hfToken },
            settings = new { min_instances = minInstances, max_instances = 1 },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
    }

    public static Task<JsonElement> WaitForAsync(HttpClient client, string deployId, Func<JsonElement, bool> done, TimeSpan timeout) =>
        SystemHttp.WaitForDeploymentAsync(client, deployId, done, timeout);

    public static bool IsRunningWithOneInstance(JsonElement d) => SystemHttp.IsRunningWithOneInstance(d);

    /// <summary>A completion through the gateway; the status code and body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> CompleteAsync(HttpClient client, string model)
    {
        try
        {
            var response = await client.PostAsJsonAsync("/v1/openai/completions", new { model, prompt = "hello", max_tokens = 3, temperature = 0 });
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, e.Message);
        }
    }

    /// <summary>Process ids of the GPU nodes' engine processes (their pid files).</summary>
    public int[] WorkerPids() => Processes.Where(p => p.Role == "node").SelectMany(WorkerPids).Order().ToArray();

    /// <summary>Process ids of the engine processes of a GPU node process (its pid files).</summary>
    public static int[] WorkerPids(ClusterProcess node) => EnginePids.Under(node.DataDir);

    /// <summary>The pid files of a GPU-node process's engines (nodes/&lt;node name&gt;/run/*.pid).</summary>
    public static IEnumerable<string> WorkerPidFiles(ClusterProcess node) => EnginePids.Files(node.DataDir);

    /// <summary>An Orleans client of the cluster in the test process (ADO.NET clustering on the same database).</summary>
    public async Task<IClusterClient> OrleansClientAsync()
    {
        if (_client is null)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.UseOrleansClient(client =>
            {
                client.UseDeepDeployPostgresClustering(Database.ConnectionString);
                client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (_clusterId, _clusterId));
            });
            _client = builder.Build();
            await _client.StartAsync();
        }

        return _client.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>Which process hosts each activation of the given grain types (by Orleans silo port).</summary>
    public async Task<List<(GrainId Grain, ClusterProcess Host)>> ActivationsAsync(params string[] grainClassNames)
    {
        var client = await OrleansClientAsync();
        var stats = await client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return stats
            .Where(s => grainClassNames.Any(n => s.GrainType.Contains(n, StringComparison.Ordinal)))
            .Select(s => (s.GrainId, Processes.Single(p => p.SiloPort == s.SiloAddress.Endpoint.Port)))
            .ToList();
    }

    public void DumpLogs()
    {
        foreach (var process in Processes)
        {
            _log.WriteLine(process.Output(40));
        }
    }

    async Task DisposeClientAsync()
    {
        if (_client is not null)
        {
            try
            {
                await _client.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            }
            catch (Exception e)
            {
                _log.WriteLine($"orleans client stop: {e.Message}");
            }

            _client.Dispose();
            _client = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeClientAsync();
        var orphans = Processes.Where(p => p.Role == "node").SelectMany(WorkerPids).ToArray();
        foreach (var process in Processes)
        {
            process.Dispose();
        }

        foreach (var pid in orphans)
        {
            EnginePids.Kill(pid);
        }

        await _hub.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
