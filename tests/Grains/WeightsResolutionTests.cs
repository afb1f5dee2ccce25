using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Grains;

/// <summary>Weights are resolved off the deployment grain's turn: a slow hub never blocks calls to it, and a
/// result that arrives for an earlier run is not used.</summary>
public sealed class WeightsResolutionTests
{
    static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    static async Task<(SimulatedCluster Sim, FixedWeightsResolver Hub, TaskCompletionSource Gate)> StartAsync()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hub = new FixedWeightsResolver { Gate = gate.Task };
        var sim = await SimulatedCluster.StartAsync(nodes: 1, silo: silo => silo.Services.AddSingleton<IWeightsResolver>(hub));
        await sim.CreateUserAsync("xena", gpuLimit: 8);
        return (sim, hub, gate);
    }

    [Fact]
    public async Task A_slow_hub_does_not_block_calls_to_the_deployment()
    {
        var (sim, hub, gate) = await StartAsync();
        await using var _ = sim;
        var id = await sim.DeployAsync("xena", "patient", numGpus: 1, min: 1, max: 1);
        await Eventually.TrueAsync(() => hub.Calls >= 1, Prompt, "a resolution started");

        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);
        var view = await deployment.Get().WaitAsync(Prompt);
        Assert.Equal(DeploymentStatus.Initializing, view!.Status);
        Assert.Equal(2, (await deployment.UpdateSettings(1, 2).WaitAsync(Prompt)).View!.MaxInstances);

        gate.SetResult();
        var running = await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        Assert.Equal("model.gguf", running.WeightsFile);
        Assert.Equal(1, hub.Calls);
    }

    [Fact]
    public async Task A_deployment_stopped_while_resolving_resolves_again_when_started()
    {
        var (sim, hub, gate) = await StartAsync();
        await using var _ = sim;
        var id = await sim.DeployAsync("xena", "restless", numGpus: 1, min: 1, max: 1);
        await Eventually.TrueAsync(() => hub.Calls >= 1, Prompt, "a resolution started");
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);

        Assert.Equal(DeploymentStatus.Stopped, (await deployment.Stop().WaitAsync(Prompt))!.Status);
        gate.SetResult();
        Assert.Null((await deployment.Start()).Error);

        var running = await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(DeploymentStatus.Running, running.Status);
        Assert.Equal(2, hub.Calls);
    }
}
