using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Grains;

/// <summary>extra_args checked inside the create flow against the engines the cluster's nodes advertised at registration.</summary>
public sealed class ExtraArgsCreateTests
{
    static readonly NodeEngine[] Engines =
        [new("builtin", [WeightsFormats.Gguf], []), new("vllm", [WeightsFormats.Safetensors], ["--dtype", "--max-model-len"])];

    static NewDeployment Request(string name, params string[] extraArgs)
    {
        var request = SimulatedCluster.Request("ola", name, min: 0);
        return request with { Spec = request.Spec with { ExtraArgs = extraArgs } };
    }

    [Fact]
    public async Task Flags_no_node_allows_are_refused_at_create_naming_the_flag_and_nothing_is_claimed()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1, silo: silo => silo.Services.AddSingleton(sp => new SimulatedNodeAgent(
            sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<ILocalSiloDetails>().Name, SimulatedCluster.GpusPerNode, SimulatedCluster.Gpu, Engines)));
        await sim.CreateUserAsync("ola", gpuLimit: 8);

        var refused = await sim.Grains.GetGrain<IDeploymentGrain>(DeploymentIds.New()).Create(Request("rce", "--dtype", "half", "--trust-remote-code"));
        var error = Assert.IsType<DeploymentError>(refused.Error);
        Assert.Equal((DeploymentErrorKind.Invalid, "extra_args_not_allowed", "extra_args"), (error.Kind, error.Code, error.Field));
        Assert.Equal($"extra_args: '--trust-remote-code' is not allowed by any engine of the nodes that run {SimulatedCluster.Gpu} (allowed flags: --dtype, --max-model-len).", error.Message);
        Assert.Null(await sim.Grains.GetGrain<IUserQuotaGrain>("ola").FindDeployment("rce"));

        var allowed = await sim.Grains.GetGrain<IDeploymentGrain>(DeploymentIds.New()).Create(Request("ok", "--dtype", "half", "--max-model-len=4096"));
        Assert.Null(allowed.Error);
        Assert.Equal(allowed.View!.DeployId, await sim.Grains.GetGrain<IUserQuotaGrain>("ola").FindDeployment("ok"));
    }
}
