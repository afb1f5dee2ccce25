using BenchmarkDotNet.Running;
using DeepDeploy.Benchmarks;

// "--tail [n]": percentiles of single routing decisions; anything else goes to BenchmarkDotNet's switcher.
if (args is ["--tail", ..])
{
    TailLatency.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RoutingDecisionBenchmark).Assembly).Run(args);
