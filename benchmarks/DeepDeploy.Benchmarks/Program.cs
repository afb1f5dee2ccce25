using BenchmarkDotNet.Running;
using DeepDeploy.Benchmarks;

// "--tail [n] [rounds]": percentiles of single routing decisions (default 3 rounds); "--profile FILE [top]": what an EventPipe recording
// (.nettrace) says; "--floor [yarp|raw|kestrel] URL ENDPOINT=SECRET...": the gateway benchmark's bare floors (ForwardFloor);
// anything else goes to BenchmarkDotNet's switcher.
if (args is ["--tail", ..])
{
    TailLatency.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args is ["--profile", var trace, ..])
{
    ProfileReport.Run(trace, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 25);
    return;
}

if (args is ["--floor", var mode, var url, ..])
{
    await ForwardFloor.RunAsync(mode, url, args[3..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RoutingDecisionBenchmark).Assembly).Run(args);
