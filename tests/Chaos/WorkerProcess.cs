using System.Globalization;
using DeepDeploy.Tests.Soak;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Chaos;

/// <summary>A running gpu-worker of a GPU-node process: its pid (from the node's pid file) and the port it
/// listens on (from /proc), and what its own /metrics says.</summary>
public sealed record WorkerProcess(int Pid, string Node, int Port)
{
    /// <summary>The worker's peaks and answered requests, or null when it does not answer.</summary>
    public async Task<WorkerScrape?> ScrapeAsync(HttpClient http)
    {
        try
        {
            var text = await http.GetStringAsync($"http://127.0.0.1:{Port}/metrics");
            return new WorkerScrape(Pid, (int)(PrometheusText.Sum(text, Metrics.RequestsInFlightPeak) ?? 0),
                (int)(PrometheusText.Sum(text, Metrics.RequestsRunningPeak) ?? 0),
                (long)(PrometheusText.Sum(text, "gen_ai_server_request_duration_seconds_count", "deepdeploy_outcome=\"ok\"") ?? 0));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Live workers of the given GPU-node processes (a pid file, a live process, a listening port).</summary>
    public static List<WorkerProcess> Of(IEnumerable<Production.ClusterProcess> nodes)
    {
        var workers = new List<WorkerProcess>();
        foreach (var node in nodes)
        {
            foreach (var file in Production.ProductionCluster.WorkerPidFiles(node))
            {
                try
                {
                    var pid = int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
                    if (ProcFs.IsAlive(pid) && ProcFs.ListeningPorts(pid) is [var port, ..])
                    {
                        workers.Add(new WorkerProcess(pid, node.Name, port));
                    }
                }
                catch (Exception e) when (e is IOException or FormatException)
                {
                    // written or removed right now
                }
            }
        }

        return workers;
    }
}
