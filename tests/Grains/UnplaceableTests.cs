using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Grains;

/// <summary>A deployment that no node can ever hold fails after DeepDeploy:Deployments:UnplaceableTimeout with the reason;
/// one waiting for GPUs that exist but are busy keeps waiting.</summary>
public sealed class UnplaceableTests
{
    [Fact]
    public async Task A_gpu_type_no_node_offers_fails_after_the_timeout_while_busy_gpus_are_waited_for()
    {
        var timeout = TimeSpan.FromSeconds(2);
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1,
            silo: silo => silo.Services.Configure<DeploymentOptions>(o => o.UnplaceableTimeout = timeout));
        await sim.CreateUserAsync("uma", gpuLimit: 32);

        // The node's 8 GPUs are all taken: the second deployment waits for them.
        var hog = await sim.DeployAsync("uma", "hog", numGpus: SimulatedCluster.GpusPerNode, min: 1, max: 1);
        await sim.WaitForAsync(hog, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        var waiter = await sim.DeployAsync("uma", "waiter", numGpus: SimulatedCluster.GpusPerNode, min: 1, max: 1);
        await sim.WaitForAsync(waiter, v => v.Status == DeploymentStatus.Deploying, TimeSpan.FromSeconds(30));

        var request = SimulatedCluster.Request("uma", "nowhere");
        var created = await sim.Grains.GetGrain<IDeploymentGrain>(DeploymentIds.New())
            .Create(request with { Spec = request.Spec with { Gpu = "A100-80GB" } });
        Assert.Null(created.Error);
        var failed = await sim.WaitForAsync(created.View!.DeployId, v => v.Status == DeploymentStatus.Failed, TimeSpan.FromSeconds(30));
        Assert.Equal($"unplaceable: no node offers A100-80GB GPUs (waited {timeout})", failed.FailReason);
        Assert.True(failed.UpdatedAt - failed.CreatedAt >= timeout, $"failed after {failed.UpdatedAt - failed.CreatedAt}");

        // The waiter has waited longer than the timeout by now (it was pending before 'nowhere' existed): busy is not unplaceable.
        var waiting = await sim.Grains.GetGrain<IDeploymentGrain>(waiter).Get();
        Assert.Equal((DeploymentStatus.Deploying, null), (waiting!.Status, waiting.FailReason));
    }
}
