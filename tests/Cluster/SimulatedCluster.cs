using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// A real Orleans cluster (TestingHost, grain state in SQLite) where every silo is one GPU node with
/// <see cref="GpusPerNode"/> simulated GPUs run by a <see cref="SimulatedNodeAgent"/>. The control plane is
/// the production code: deployment, node, registry, quota and ledger grains, placement, the deployment waker.
/// </summary>
public sealed class SimulatedCluster : IAsyncDisposable
{
    public const int GpusPerNode = 8;
    public const string Gpu = "H100-80GB";

    readonly string _directory = Directory.CreateTempSubdirectory("deepdeploy-sim-").FullName;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public static async Task<SimulatedCluster> StartAsync(short nodes, Action<AutoscalerOptions>? autoscaler = null)
    {
        var sim = new SimulatedCluster();
        var connection = $"Data Source={Path.Combine(sim._directory, "state.db")}";
        var builder = new InProcessTestClusterBuilder(nodes);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddDeepDeploySqliteStorage(StorageNames.Default, connection);
            silo.Services.AddSingleton<IWeightsResolver, FixedWeightsResolver>();
            silo.AddDeepDeployControlPlane(hostedNode: options.SiloName);
            silo.Services.AddSingleton(sp => new SimulatedNodeAgent(sp.GetRequiredService<IGrainFactory>(), options.SiloName, GpusPerNode, Gpu));
            silo.Services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<SimulatedNodeAgent>());
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SimulatedNodeAgent>());
            silo.Services.Configure<AutoscalerOptions>(o => autoscaler?.Invoke(o));
        });
        sim.Cluster = builder.Build();
        await sim.Cluster.DeployAsync();
        return sim;
    }

    public SimulatedNodeAgent Agent(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<SimulatedNodeAgent>();

    public async Task CreateUserAsync(string name, int gpuLimit)
    {
        await Grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).Add(name, Guid.NewGuid().ToString("N"));
        await Grains.GetGrain<IUserQuotaGrain>(name).Create(gpuLimit);
    }

    public async Task<string> DeployAsync(string user, string name, int numGpus, int min, int max, int maxBatchSize = 4)
    {
        var deployId = Guid.NewGuid().ToString("N")[..20];
        Assert.True(await Grains.GetGrain<IUserQuotaGrain>(user).ClaimModelName(name, deployId));
        await Grains.GetGrain<IDeploymentGrain>(deployId).Create(new DeploymentSpec(user, name, Gpu, numGpus, maxBatchSize,
            "sim/model", null, null, min, max, []));
        return deployId;
    }

    public async Task<DeploymentView> WaitForAsync(string deployId, Func<DeploymentView, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        DeploymentView? view = null;
        while (DateTime.UtcNow < deadline)
        {
            view = await Grains.GetGrain<IDeploymentGrain>(deployId).Get();
            if (view is not null && done(view))
            {
                return view;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"deployment {deployId} did not get there in {timeout}: {view}");
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
