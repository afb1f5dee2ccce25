using DeepDeploy.Tests.EndToEnd;

namespace DeepDeploy.Tests.Cli;

/// <summary>One running system for every deepctl test of the class (starting one costs seconds).</summary>
public sealed class DeepctlSystem : IAsyncLifetime
{
    public RunningSystem System { get; private set; } = null!;

    public async Task InitializeAsync() => System = await RunningSystem.StartAsync();

    public async Task DisposeAsync() => await System.DisposeAsync();
}
