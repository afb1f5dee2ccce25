using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Tests.Cluster;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Grains;

/// <summary>The create flow behind one grain call, as any client of the cluster sees it (no HTTP): capacity,
/// spending standing, account and GPU limit, the name claim, the sealed token and the rollback of the claim.</summary>
public sealed class CreateFlowTests
{
    static Task<DeploymentResult> CreateAsync(SimulatedCluster sim, NewDeployment request, string? deployId = null) =>
        sim.Grains.GetGrain<IDeploymentGrain>(deployId ?? DeploymentIds.New()).Create(request);

    static void AssertRefused(DeploymentResult result, DeploymentErrorKind kind, string code, string? field)
    {
        Assert.Null(result.View);
        var error = Assert.IsType<DeploymentError>(result.Error);
        Assert.Equal((kind, code, field), (error.Kind, error.Code, error.Field));
    }

    [Fact]
    public async Task Account_gpu_limit_and_node_size_are_checked_before_the_name_is_claimed()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);

        AssertRefused(await CreateAsync(sim, SimulatedCluster.Request("nobody", "ghost")), DeploymentErrorKind.Forbidden, "no_account", null);

        await sim.CreateUserAsync("rita", gpuLimit: 2);
        AssertRefused(await CreateAsync(sim, SimulatedCluster.Request("rita", "big", numGpus: 4)), DeploymentErrorKind.Forbidden, "quota_exceeded", "num_gpus");
        var tooBig = await CreateAsync(sim, SimulatedCluster.Request("rita", "huge", numGpus: SimulatedCluster.GpusPerNode * 2));
        AssertRefused(tooBig, DeploymentErrorKind.Invalid, "invalid_field", "num_gpus");
        Assert.Contains("the largest has 8", tooBig.Error!.Message);

        var quota = sim.Grains.GetGrain<IUserQuotaGrain>("rita");
        Assert.Null(await quota.FindDeployment("big"));
        Assert.Null(await quota.FindDeployment("huge"));
        Assert.Empty((await quota.Get())!.Deployments);
    }

    [Fact]
    public async Task A_live_name_is_taken_until_its_deployment_is_deleted()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("sam", gpuLimit: 8);

        var first = await CreateAsync(sim, SimulatedCluster.Request("sam", "chat", min: 0));
        Assert.Null(first.Error);
        Assert.Equal("sam", first.View!.Owner);
        Assert.Equal(DeploymentStatus.Initializing, first.View.Status);

        var second = await CreateAsync(sim, SimulatedCluster.Request("sam", "chat", min: 0));
        AssertRefused(second, DeploymentErrorKind.Conflict, "name_taken", "model_name");
        Assert.Equal("A live deployment named 'sam/chat' already exists.", second.Error!.Message);

        Assert.True(await sim.Grains.GetGrain<IDeploymentGrain>(first.View.DeployId).Delete());
        Assert.Null((await CreateAsync(sim, SimulatedCluster.Request("sam", "chat", min: 0))).Error);
    }

    [Fact]
    public async Task A_reached_spending_limit_refuses_create_scale_up_and_start_but_not_scale_down()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("tina", gpuLimit: 8);
        var created = await CreateAsync(sim, SimulatedCluster.Request("tina", "frugal", min: 0, max: 2));
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(created.View!.DeployId);
        Assert.NotNull((await deployment.Stop())!);

        await sim.Grains.GetGrain<IBillingLedgerGrain>("tina").SetSpendingLimit(0);

        var refused = await CreateAsync(sim, SimulatedCluster.Request("tina", "another"));
        AssertRefused(refused, DeploymentErrorKind.PaymentRequired, "spending_limit_reached", null);
        Assert.StartsWith("Your spending limit of 0 USD reached", refused.Error!.Message);
        Assert.Null(await sim.Grains.GetGrain<IUserQuotaGrain>("tina").FindDeployment("another"));
        AssertRefused(await deployment.UpdateSettings(0, 3), DeploymentErrorKind.PaymentRequired, "spending_limit_reached", null);
        AssertRefused(await deployment.Start(), DeploymentErrorKind.PaymentRequired, "spending_limit_reached", null);

        var down = await deployment.UpdateSettings(0, 1);
        Assert.Equal(1, down.View!.MaxInstances);
    }

    [Fact]
    public async Task The_name_is_released_when_creating_fails_after_the_claim()
    {
        // A key ring that may not create a key: sealing the token fails after the name was claimed.
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1,
            silo: silo => silo.Services.AddDataProtection().DisableAutomaticKeyGeneration());
        await sim.CreateUserAsync("uma", gpuLimit: 8);
        var deployId = DeploymentIds.New();

        await Assert.ThrowsAnyAsync<Exception>(() => CreateAsync(sim, SimulatedCluster.Request("uma", "secret", hfToken: "hf_abc"), deployId));

        Assert.Null(await sim.Grains.GetGrain<IUserQuotaGrain>("uma").FindDeployment("secret"));
        Assert.Null(await sim.Grains.GetGrain<IDeploymentGrain>(deployId).Get());
        var again = await CreateAsync(sim, SimulatedCluster.Request("uma", "secret", min: 0));
        Assert.Null(again.Error);
    }

    [Fact]
    public async Task A_created_deployment_runs_its_instances()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2);
        await sim.CreateUserAsync("vera", gpuLimit: 8);
        var created = await CreateAsync(sim, SimulatedCluster.Request("vera", "served", numGpus: 2, min: 2, max: 2, hfToken: "hf_secret"));

        var view = await sim.WaitForAsync(created.View!.DeployId, v => v.RunningInstances == 2, TimeSpan.FromSeconds(30));
        Assert.Equal(DeploymentStatus.Running, view.Status);
        Assert.Equal(created.View.DeployId, await sim.Grains.GetGrain<IUserQuotaGrain>("vera").FindDeployment("served"));
    }
}
