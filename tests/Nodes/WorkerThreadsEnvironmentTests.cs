using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Nodes;

/// <summary>A node that gives its workers more than one thread makes their OpenMP teams wait passively, since the
/// instances share its cores; one thread has no team and keeps llama.cpp's default.</summary>
[Trait("Category", "Unit")]
public sealed class WorkerThreadsEnvironmentTests
{
    static readonly InstanceLaunch Launch = new("d-1", "d", "ivy/llama", "H100-80GB", 1, 8, "acme/m", new string('c', 40), "m.gguf", null, []);

    [Theory]
    [InlineData(1, null)]
    [InlineData(2, "PASSIVE")]
    [InlineData(8, "PASSIVE")]
    public void Workers_with_a_thread_team_wait_passively(int threads, string? policy)
    {
        var start = EngineStart.ForWorker(new NodeOptions { WorkerThreads = threads }, new EngineInstance(Launch, [0]), "/cache/m.gguf", "/run/engines/i-1");

        Assert.Equal(policy, start.Environment.GetValueOrDefault(EngineStart.OpenMpWaitPolicy));
        Assert.Equal(threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            start.Arguments[start.Arguments.ToList().IndexOf(DeepDeploy.WorkerProtocol.WorkerProtocol.Args.Threads) + 1]);
    }
}
