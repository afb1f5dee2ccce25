namespace DeepDeploy.Tests.Soak;

/// <summary>
/// Samples processes from /proc (RSS, descriptors, threads, TCP connections) and their /metrics (the .NET GC heap
/// after the last collection, <c>dotnet_gc_last_collection_heap_size_bytes</c>).
/// </summary>
public sealed class ProcessSampler(HttpClient http)
{
    public const string GcHeapSeries = "dotnet_gc_last_collection_heap_size_bytes";

    /// <param name="metrics">The process's /metrics URL and the bearer token it needs (the gateway's is operator-only).</param>
    public async Task<SoakSample?> SampleAsync(string name, int pid, double seconds, (Uri Url, string? Token)? metrics)
    {
        if (ProcFs.Status(pid) is not { } status)
        {
            return null;
        }

        double? heap = null;
        if (metrics is { } m)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, m.Url);
                if (m.Token is not null)
                {
                    request.Headers.Authorization = new("Bearer", m.Token);
                }

                using var response = await http.SendAsync(request);
                heap = PrometheusText.Sum(await response.Content.ReadAsStringAsync(), GcHeapSeries) / (1024 * 1024);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // no figure this time
            }
        }

        return new SoakSample(name, seconds, status.RssBytes / (1024.0 * 1024), heap, ProcFs.OpenFds(pid), status.Threads, ProcFs.EstablishedTcp(pid));
    }
}
