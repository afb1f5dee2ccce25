namespace DeepDeploy.Silo.Hosting.Tls;

/// <summary>Says at start, in the log, that a production process talks to its cluster without TLS.</summary>
public sealed class PlaintextClusterWarning(ILogger<PlaintextClusterWarning> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        log.LogWarning("Orleans silo and gateway connections are not encrypted or authenticated: anyone who reaches these ports "
            + "can join the cluster and call every grain. Set DeepDeploy:Tls:Certificate in production (see docs/tls.md).");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
