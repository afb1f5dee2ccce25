using System.Runtime.InteropServices;

namespace DeepDeploy.GpuWorker.Hosting;

/// <summary>
/// Replaces the console lifetime. On SIGTERM/SIGINT the worker first drains: /health says "draining",
/// new completions get 503, running ones may finish for up to <see cref="DrainTimeout"/>; then the host
/// stops and the process exits 0. A second signal stops at once.
/// </summary>
public sealed class DrainingLifetime(ModelHost host, IHostApplicationLifetime lifetime, ILogger<DrainingLifetime> log)
    : IHostLifetime, IDisposable
{
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    readonly List<PosixSignalRegistration> _registrations = [];
    int _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }

        lifetime.ApplicationStopping.Register(host.BeginDrain);
        return Task.CompletedTask;
    }

    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // we exit by stopping the host, with exit code 0
        if (Interlocked.Increment(ref _signals) > 1)
        {
            lifetime.StopApplication();
            return;
        }

        host.BeginDrain();
        _ = Task.Run(async () =>
        {
            var idle = await host.WaitIdleAsync(DrainTimeout);
            if (!idle)
            {
                log.LogWarning("Drain timeout ({Timeout}) reached with requests still running; stopping", DrainTimeout);
            }

            lifetime.StopApplication();
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }

        _registrations.Clear();
    }
}
