using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using Xunit;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// A real Orleans cluster (TestingHost, grain state in SQLite or PostgreSQL) of simulated GPU nodes, each with
/// <see cref="GpusPerNode"/> simulated GPUs run by a <see cref="SimulatedNodeAgent"/>: one node per silo, or many
/// per silo (<see cref="SimulatedNodeHost"/>) for simulations at scale. The control plane is the production code:
/// deployment, node, registry, quota and ledger grains, placement, reminders, the lost-node waker.
/// </summary>
public sealed class SimulatedCluster : IAsyncDisposable
{
    public const int GpusPerNode = 8;
    public const string Gpu = "H100-80GB";

    readonly TempDirectory _directory = TempDirectory.Create("deepdeploy-sim-");

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    /// <param name="silo">More silo configuration, applied last.</param>
    public static Task<SimulatedCluster> StartAsync(short nodes, Action<AutoscalerOptions>? autoscaler = null, Action<ISiloBuilder>? silo = null) =>
        StartAsync(new SimulatedClusterOptions { Silos = nodes, Nodes = nodes, Autoscaler = autoscaler, Silo = silo });

    public static async Task<SimulatedCluster> StartAsync(SimulatedClusterOptions options)
    {
        var sim = new SimulatedCluster();
        if (options.Postgres is { } postgres)
        {
            await PostgresSchema.EnsureCreatedAsync(postgres);
        }

        var connection = $"Data Source={Path.Combine(sim._directory.Path, "state.db")}";
        var onePerSilo = options.Nodes == options.Silos;
        var builder = new InProcessTestClusterBuilder(options.Silos);
        builder.Options.ConfigureFileLogging = false;
        var siloIndex = 0;
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            if (options.InMemoryStorage)
            {
                silo.AddMemoryGrainStorage(StorageNames.Default);
                silo.UseInMemoryReminderService();
            }
            else if (options.Postgres is { } database)
            {
                silo.AddDeepDeployPostgresStorage(StorageNames.Default, database);
                silo.UseAdoNetReminderService((AdoNetReminderTableOptions reminders) =>
                {
                    reminders.Invariant = StorageSetup.PostgresInvariant;
                    reminders.ConnectionString = database;
                });
            }
            else
            {
                silo.UseDeepDeploySqlite(StorageNames.Default, connection);
            }

            silo.Services.AddSingleton<IWeightsResolver, FixedWeightsResolver>();
            silo.AddDeepDeployControlPlane(hostedNode: siloOptions.SiloName);
            if (onePerSilo)
            {
                var gpu = options.GpuTypes[siloIndex++ % options.GpuTypes.Count];
                silo.Services.AddSingleton(sp => new SimulatedNodeAgent(sp.GetRequiredService<IGrainFactory>(), siloOptions.SiloName, options.GpusPerNode, gpu, simulation: options.Simulation));
                silo.Services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<SimulatedNodeAgent>());
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SimulatedNodeAgent>());
            }
            else
            {
                var index = siloIndex++;
                var names = Enumerable.Range(0, options.Nodes).Where(n => n % options.Silos == index).ToArray();
                silo.AddPlacementDirector<NodeHostPlacementStrategy, SimulatedNodePlacementDirector>();
                silo.Services.AddSingleton(sp => new SimulatedNodeHost(sp.GetRequiredService<IGrainContextAccessor>(), names.Select(n => new SimulatedNodeAgent(
                    sp.GetRequiredService<IGrainFactory>(), $"{siloOptions.SiloName}{SimulatedNodePlacementDirector.Separator}{n:D4}", options.GpusPerNode,
                    options.GpuTypes[n % options.GpuTypes.Count], simulation: options.Simulation)).ToArray()));
                silo.Services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<SimulatedNodeHost>());
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SimulatedNodeHost>());
            }

            silo.Services.Configure<AutoscalerOptions>(o => options.Autoscaler?.Invoke(o));
            silo.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(sim._directory.Path, "keys")));
            options.Silo?.Invoke(silo);
        });
        if (options.Client is { } client)
        {
            builder.ConfigureClient(client);
        }

        sim.Cluster = builder.Build();
        await sim.Cluster.DeployAsync();
        return sim;
    }

    public SimulatedNodeAgent Agent(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<SimulatedNodeAgent>();

    /// <summary>Every node's agent, on every live silo.</summary>
    public IReadOnlyList<SimulatedNodeAgent> Agents => Cluster.Silos
        .SelectMany(s => Cluster.GetSiloServiceProvider(s.SiloAddress).GetService<SimulatedNodeHost>()?.Agents ?? [Agent(s)])
        .ToArray();

    /// <summary>Completes when every node on every silo has registered: an event of the node hosts, so that a
    /// simulation of 1,000 nodes need not poll the registry while it takes the registrations.</summary>
    public Task NodesRegistered => Task.WhenAll(Cluster.Silos
        .Select(s => Cluster.GetSiloServiceProvider(s.SiloAddress).GetService<SimulatedNodeHost>()?.Registered ?? Task.CompletedTask));

    /// <summary>A user whose GPU limit is the simulation's subject; its deployment cap is raised out of the way (a
    /// simulated user stands for a whole workload).</summary>
    public async Task CreateUserAsync(string name, int gpuLimit, int maxDeployments = 1000)
    {
        await Grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).Add(name, Guid.NewGuid().ToString("N"));
        await Grains.GetGrain<IUserQuotaGrain>(name).Create(gpuLimit);
        await Grains.GetGrain<IUserQuotaGrain>(name).SetLimits(new UserLimits(null, maxDeployments, null));
    }

    public async Task<string> DeployAsync(string user, string name, int numGpus, int min, int max, int maxBatchSize = 4)
    {
        var deployId = DeploymentIds.New();
        var result = await Grains.GetGrain<IDeploymentGrain>(deployId).Create(Request(user, name, numGpus, min, max, maxBatchSize));
        Assert.Null(result.Error);
        return deployId;
    }

    /// <summary>A deployment of the simulated GPU type on a fixed repo.</summary>
    public static NewDeployment Request(string user, string name, int numGpus = 1, int min = 1, int max = 1, int maxBatchSize = 4, string? hfToken = null) =>
        new(new DeploymentSpec(user, name, Gpu, numGpus, maxBatchSize, "sim/model", null, null, min, max, []), hfToken);

    public async Task<DeploymentView> WaitForAsync(string deployId, Func<DeploymentView, bool> done, TimeSpan timeout) =>
        (await Eventually.MatchAsync(() => Grains.GetGrain<IDeploymentGrain>(deployId).Get(), view => view is not null && done(view), timeout, $"deployment {deployId} there"))!;

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
