using System.Diagnostics;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Node.Engines;

/// <summary>Asks a running engine over HTTP: its health endpoint until it first serves, then every
/// <see cref="NodeOptions.HealthInterval"/> while it runs; its metrics for its load.</summary>
public sealed class EngineProbe(NodeOptions options, IHttpClientFactory http)
{
    public const string ClientName = "DeepDeploy.Node.Engines";

    /// <summary>Returns once the engine answers healthy; throws when it exits or <see cref="NodeOptions.StartTimeout"/> passes.</summary>
    public async Task WaitHealthyAsync(EngineInstance instance, string endpoint)
    {
        using var client = http.CreateClient(ClientName);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            instance.StopToken.ThrowIfCancellationRequested();
            if (instance.Process!.HasExited)
            {
                throw new InvalidOperationException($"engine exited while loading, code {instance.Process.ExitCode}: {instance.Output.Last(5)}");
            }

            try
            {
                using var response = await client.GetAsync(endpoint + instance.HealthPath, instance.StopToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not serving yet.
            }

            if (deadline.Elapsed > options.StartTimeout)
            {
                throw new TimeoutException($"engine not healthy after {options.StartTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(100, instance.StopToken);
        }
    }

    /// <summary>Waits while the engine runs and answers its health checks; returns why it stopped serving
    /// (after killing it when it failed <see cref="NodeOptions.HealthFailures"/> checks in a row).</summary>
    public async Task<string> SuperviseAsync(EngineInstance instance, string endpoint)
    {
        using var client = http.CreateClient(ClientName);
        client.Timeout = options.HealthTimeout;
        var process = instance.Process!;
        var failures = 0;
        while (true)
        {
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(options.HealthInterval)) == exited)
            {
                return $"engine exited with code {process.ExitCode}: {instance.Output.Last(5)}";
            }

            if (instance.Stopping)
            {
                await process.WaitForExitAsync();
                return "stopped";
            }

            try
            {
                using var response = await client.GetAsync(endpoint + instance.HealthPath);
                failures = response.IsSuccessStatusCode ? 0 : failures + 1;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures++;
            }

            if (failures >= options.HealthFailures && !instance.Stopping)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                return $"failed {failures} health checks in a row";
            }
        }
    }

    /// <summary>The engine's load from its own metrics (the profile's LoadMetrics; the built-in worker's requests in
    /// flight); null when they name none.</summary>
    public async Task<double?> ReadLoadAsync(EngineInstance instance, string endpoint, CancellationToken cancellationToken)
    {
        using var client = http.CreateClient(ClientName);
        client.Timeout = options.HealthTimeout;
        var text = await client.GetStringAsync(endpoint + (instance.Profile?.MetricsPath ?? "/metrics"), cancellationToken);
        return EngineCommand.ReadLoad(text, instance.Profile?.LoadMetricNames ?? [Protocol.Metrics.RequestsInFlight]);
    }
}
