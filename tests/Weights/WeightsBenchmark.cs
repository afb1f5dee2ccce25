using System.Diagnostics;
using DeepDeploy.Node.Weights;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Weights;

/// <summary>Download throughput from the local hub stand-in on loopback: our client vs curl of the same file, and the
/// time a cache hit saves. Prints numbers; asserts only correctness.</summary>
[Trait("Category", "Benchmark")]
public sealed class WeightsBenchmark(ITestOutputHelper output)
{
    const int SizeMiB = 512;

    [BenchmarkFact]
    public async Task Download_throughput_vs_curl_and_cache_hit_savings()
    {
        await using var hub = await WeightsHub.StartAsync();
        var content = new byte[SizeMiB << 20];
        new Random(1).NextBytes(content);
        hub.Write("bench/big", "big.gguf", content);
        var commit = (await new HuggingFaceClient(new HttpClient(), hub.Endpoint).ResolveAsync("bench/big", null, null, default)).Commit; // hashes once
        var dir = Directory.CreateTempSubdirectory("deepdeploy-bench-").FullName;
        try
        {
            double ours = 0, curl = 0;
            for (var run = 0; run < 3; run++)
            {
                var target = Path.Combine(dir, $"ours-{run}");
                var clock = Stopwatch.StartNew();
                await new HuggingFaceClient(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, hub.Endpoint)
                    .DownloadFileAsync("bench/big", commit, "big.gguf", null, target, null, default);
                ours = Math.Max(ours, SizeMiB / clock.Elapsed.TotalSeconds);
                File.Delete(target);

                var curlTarget = Path.Combine(dir, $"curl-{run}");
                clock.Restart();
                using var process = Process.Start(new ProcessStartInfo("curl", ["-sf", "-o", curlTarget, $"{hub.Endpoint}/bench/big/resolve/{commit}/big.gguf"]))!;
                await process.WaitForExitAsync();
                Assert.Equal(0, process.ExitCode);
                curl = Math.Max(curl, SizeMiB / clock.Elapsed.TotalSeconds);
                File.Delete(curlTarget);
            }

            output.WriteLine($"{SizeMiB} MiB on loopback, best of 3: HuggingFaceClient {ours:0} MiB/s (incl. HEAD + sha256 verify), curl {curl:0} MiB/s, ratio {ours / curl:0.00}");

            using var node = new CacheUnderTest(hub.Endpoint);
            var cold = Stopwatch.StartNew();
            using (await node.Cache.AcquireAsync(node.Launch("bench/big", commit, "big.gguf"), null, null, default))
            {
            }

            cold.Stop();
            var hit = Stopwatch.StartNew();
            using (await node.Cache.AcquireAsync(node.Launch("bench/big", commit, "big.gguf"), null, null, default))
            {
            }

            hit.Stop();
            output.WriteLine($"node cache: cold {cold.Elapsed.TotalMilliseconds:0} ms, hit {hit.Elapsed.TotalMilliseconds:0.0} ms, saved {(cold.Elapsed - hit.Elapsed).TotalMilliseconds:0} ms");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
