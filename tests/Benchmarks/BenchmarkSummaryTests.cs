using DeepDeploy.Tests.Support;
using DeepDeploy.Tests.Worker;
using Xunit;

namespace DeepDeploy.Tests.Benchmarks;

/// <summary>
/// The one benchmark command's collection step (<c>deploy/bench/run.sh --collect-only</c>): from what the benchmarks
/// left in a results directory (files they wrote, the detailed test log of one that only prints, the simulation's
/// markdown summary, the run's status lines) it writes one summary.md with each benchmark's figures under its target.
/// The benchmarks themselves are not run: their outputs are stood in for by files in their formats.
/// </summary>
public sealed class BenchmarkSummaryTests
{
    [Fact]
    public async Task Summary_puts_each_run_benchmarks_figures_under_its_target_and_names_the_run()
    {
        using var results = TempDirectory.Create("deepdeploy-bench-");
        var dir = results.Path;
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        Directory.CreateDirectory(Path.Combine(dir, "simulation"));
        await File.WriteAllTextAsync(Path.Combine(dir, "mode"), "quick\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "started"), "2026-12-02 07:00:00 UTC\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "status.tsv"),
            "gateway\tok\t100\t2026-12-02T07:02:00Z\n" +
            "reaction\tok\t41\t2026-12-02T07:03:00Z\n" +
            "weights\tfailed (exit 1; see logs/weights.log)\t7\t2026-12-02T07:04:00Z\n" +
            "simulation\tok\t60\t2026-12-02T07:05:00Z\n");
        // The gateway benchmark writes its two files itself.
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway.txt"), "c=64: gateway/nginx 0.62, gateway/direct 0.31\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway-telemetry.txt"), "telemetry on/off 0.97\n");
        // The reaction benchmark only prints: its figures are in its test log, as `dotnet test` writes it.
        await File.WriteAllTextAsync(Path.Combine(dir, "logs", "reaction.log"), """
            A total of 1 test files matched the specified pattern.
              Passed DeepDeploy.Tests.Autoscale.ReactionBenchmark.Queue_build_up_to_scale_decision [41 s]
              Standard Output Messages:
             queue build-up → scale decision over 5 rounds: immediate median 107 ms (max 385)
             periodic reports only: median 1573 ms (max 3042)



            Test Run Successful.
            Total tests: 1
                 Passed: 1
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "logs", "weights.log"), "  Failed DeepDeploy.Tests.Weights.WeightsBenchmark.Download [7 s]\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "simulation", "summary.md"),
            "# Simulation\n\n| placement p99 | 12 ms |\n\n## Charts\n\n![instances](instances.png)\n");
        // Left by an earlier invocation; this one did not run the worker benchmark.
        await File.WriteAllTextAsync(Path.Combine(dir, "worker.txt"), "concurrency 1: 999 tokens/s\n");

        var script = Path.Combine(WorkerBenchmark.FindRepoRoot(), "deploy", "bench", "run.sh");
        await using (var run = ProcessHost.Start("bench-collect", "bash", [script, "--collect-only", "--results", dir]))
        {
            Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(60)) && run.ExitCode == 0, run.Output.Tail());
        }

        var summary = await File.ReadAllTextAsync(Path.Combine(dir, "summary.md"));
        Assert.Matches(@"- commit: [0-9a-f]{7,}", summary);
        Assert.Matches(@"- machine: .*\d+ cores", summary);
        Assert.Contains("Quick run", summary);
        Assert.Contains("| [weights](#weights) |", summary);
        Assert.Contains("| failed (exit 1; see logs/weights.log) | 7 |", summary);

        var reaction = Section(summary, "reaction");
        Assert.True(reaction.IndexOf("queue build-up → scale decision ≤ 1 s", StringComparison.Ordinal)
            < reaction.IndexOf("immediate median 107 ms (max 385)", StringComparison.Ordinal), reaction);
        Assert.Contains("periodic reports only: median 1573 ms (max 3042)", reaction);
        Assert.DoesNotContain("Test Run Successful", reaction);
        Assert.DoesNotContain("Passed", reaction);

        var gateway = Section(summary, "gateway");
        Assert.Contains("gateway/nginx 0.62", gateway);
        Assert.Contains("telemetry on/off 0.97", gateway);

        var simulation = Section(summary, "simulation");
        Assert.Contains("### Simulation", simulation);
        Assert.Contains("](simulation/instances.png)", simulation);

        Assert.Contains("Not run in this invocation", Section(summary, "worker"));
        Assert.DoesNotContain("999 tokens/s", summary);
    }

    /// <summary>The text of one benchmark's section, from its heading to the next.</summary>
    static string Section(string summary, string name)
    {
        var start = summary.IndexOf($"\n## {name}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {name}");
        var end = summary.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? summary[start..] : summary[start..end];
    }
}
