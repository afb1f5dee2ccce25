using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// TEST DOUBLE for many GPU hosts sharing one silo (a simulation of 1,000 nodes cannot run 1,000 silos): the
/// silo's one <see cref="INodeAgent"/>, handing each command to the agent of the node whose <c>GpuNode</c> grain
/// gives it. The grain calls the agent within its own turn, so the running grain's key names the node.
/// </summary>
public sealed class SimulatedNodeHost(IGrainContextAccessor context, IReadOnlyList<SimulatedNodeAgent> agents) : INodeAgent, ILifecycleParticipant<ISiloLifecycle>
{
    readonly Dictionary<string, SimulatedNodeAgent> _byName = agents.ToDictionary(a => a.NodeName, StringComparer.Ordinal);
    Task _registration = Task.CompletedTask;

    public IReadOnlyList<SimulatedNodeAgent> Agents => agents;

    /// <summary>Completes when every node of this silo has registered (faults if one could not).</summary>
    public Task Registered => _registration;

    public string NodeName => Current.NodeName;

    SimulatedNodeAgent Current =>
        context.GrainContext?.GrainId is { } grain && _byName.TryGetValue(grain.Key.ToString()!, out var agent)
            ? agent
            : throw new InvalidOperationException("A simulated node agent is commanded from outside its GpuNode grain.");

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SimulatedNodeHost), ServiceLifecycleStage.Active, _ =>
        {
            // In the background, as hosts would come up, and not holding the silo's start (a thousand registrations
            // would outlast the cluster's start-up timeouts); each retried as the real agent's is.
            _registration = Task.Run(() => Parallel.ForEachAsync(agents, new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (agent, token) => await RegisterAsync(agent, token)));
            return Task.CompletedTask;
        }, async cancellationToken =>
        {
            await _registration.WaitAsync(cancellationToken);
            foreach (var agent in agents)
            {
                await agent.StopAsync(cancellationToken);
            }
        });

    static async Task RegisterAsync(SimulatedNodeAgent agent, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await agent.StartAsync(cancellationToken);
                return;
            }
            catch (Exception) when (attempt < 10 && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    public void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices) => Current.Launch(launch, gpuIndices);

    public void Stop(string instanceId, string deployId) => Current.Stop(instanceId, deployId);

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines) => Current.GetLogs(deployId, lines);
}
