using System.Diagnostics;
using System.Globalization;
using System.Text;
using DeepDeploy.Tests.Chaos;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Production;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// Load through one gateway to several instances: every request (a unique id in its prompt, a quarter of them
/// streamed) gets exactly one answer — the client sees one whole answer per request and the workers' own counters
/// of answered requests add up to exactly the number of answers — and no worker ever holds more than
/// max_batch_size (each worker's peak gauge). CI: 2,000 requests at 64 concurrency;
/// <c>DEEPDEPLOY_LOAD_REQUESTS=10000 DEEPDEPLOY_LOAD_CONCURRENCY=256</c> for the full form.
/// </summary>
[Collection(SystemCollection.Name)]
[Trait("Category", "Load")]
public sealed class LoadTests(ITestOutputHelper log)
{
    const int Instances = 4;
    const int MaxBatchSize = 8;

    [PostgresFact]
    public async Task Every_request_gets_exactly_one_answer_and_no_worker_holds_more_than_max_batch_size()
    {
        var requests = (int)SoakEnvironment.Number("DEEPDEPLOY_LOAD_REQUESTS", 2000);
        var concurrency = (int)SoakEnvironment.Number("DEEPDEPLOY_LOAD_CONCURRENCY", 64);
        var room = (2 * concurrency).ToString(CultureInfo.InvariantCulture);
        var gateway = new Dictionary<string, string>
        {
            ["DeepDeploy__Inference__MaxConcurrentRequests"] = room,
            ["DeepDeploy__Inference__QueueCapacity"] = room,
        };
        await using var chaos = await ChaosCluster.StartAsync(log, "--engine fake --fake-token-rate 200", gpusPerNode: 2, gateway, controlSilos: 1);
        try
        {
            var token = await chaos.UserAsync("lena", gpus: Instances, concurrent: 2 * concurrency);
            await chaos.DeployAsync(token, "loaded", Instances, MaxBatchSize);
            using var scrape = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var workers = chaos.Workers();
            Assert.Equal(Instances, workers.Count);
            var before = await ScrapeAsync(workers, scrape);

            var results = new Attempt?[requests];
            var next = 0;
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = concurrency })
            {
                BaseAddress = chaos.Gateway,
                Timeout = Timeout.InfiniteTimeSpan,
            };
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                int id;
                while ((id = Interlocked.Increment(ref next)) <= requests)
                {
                    results[id - 1] = await InferenceCall.SendAsync(client, token, "lena/loaded", id, 0, stream: id % 4 == 0, maxTokens: 8,
                        TimeSpan.FromSeconds(120));
                }
            })));
            var elapsed = clock.Elapsed;
            var after = await ScrapeAsync(workers, scrape);

            var answered = results.OfType<Attempt>().ToList();
            var ok = answered.Count(a => a.Outcome == AttemptOutcome.Ok);
            var atWorkers = after.Sum(a => a.AnsweredOk) - before.Sum(b => b.AnsweredOk);
            var failed = string.Join(", ", answered.Where(a => a.Outcome != AttemptOutcome.Ok).GroupBy(a => a.Seen).Select(g => $"{g.Key} ×{g.Count()}"));
            var latencies = answered.Select(a => (a.End - a.Start).TotalMilliseconds).Order().ToList();
            var table = new StringBuilder()
                .AppendLine("| requests | concurrency | instances × max_batch_size | whole answers | errors seen | lost or duplicated | answered at the workers | highest in flight at a worker | req/s | p50 ms | p99 ms |")
                .AppendLine("|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|")
                .AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {requests} | {concurrency} | {Instances} × {MaxBatchSize} | {ok} | {(failed.Length == 0 ? "—" : failed)} | {answered.Count(a => a.IsLoss) + (requests - answered.Count)} | {atWorkers} | {after.Max(a => Math.Max(a.InFlightPeak, a.RunningPeak))} | {requests / elapsed.TotalSeconds:0} | {latencies[latencies.Count / 2]:0} | {latencies[(int)(latencies.Count * 0.99)]:0} |"))
                .ToString();
            log.WriteLine(table);
            ReliabilityReport.Write("load", requests >= 10000 ? "full form" : "CI form", table
                + "\nreq/s and latency are indicative only: the load generator shares the machine's cores with every process of the cluster.");

            Assert.Equal(requests, answered.Count);
            Assert.DoesNotContain(answered, a => a.IsLoss || a.Status == 500);
            Assert.True(ok == requests, $"{requests - ok} requests had no whole answer: {failed}");
            Assert.Equal(workers.Select(w => w.Pid).Order(), after.Select(a => a.Pid).Order()); // no worker restarted
            Assert.Equal(ok, atWorkers); // each answer was generated exactly once
            Assert.All(after, a => Assert.True(Math.Max(a.InFlightPeak, a.RunningPeak) <= MaxBatchSize,
                $"worker {a.Pid} held {a.InFlightPeak} requests, above max_batch_size {MaxBatchSize}"));
        }
        catch
        {
            chaos.Cluster.DumpLogs();
            throw;
        }
    }

    static async Task<List<WorkerScrape>> ScrapeAsync(List<WorkerProcess> workers, HttpClient http)
    {
        var scrapes = new List<WorkerScrape>();
        foreach (var worker in workers)
        {
            scrapes.Add(await worker.ScrapeAsync(http) ?? throw new InvalidOperationException($"worker {worker.Pid} does not serve /metrics"));
        }

        return scrapes;
    }
}
