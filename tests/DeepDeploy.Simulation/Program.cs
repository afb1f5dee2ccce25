using System.CommandLine;
using System.Globalization;
using DeepDeploy.Simulation.Report;

namespace DeepDeploy.Simulation;

/// <summary>
/// <c>dotnet run --project tests/DeepDeploy.Simulation -- --nodes 1000 --gpus-per-node 8 --deployments 2000
/// --gateways 20 --minutes 10 --out /tmp/sim</c>: one simulation, its summary on stdout and, with --out, in
/// summary.md beside PNG charts. Flags: docs/simulation.md.
/// </summary>
internal static class Program
{
    static async Task<int> Main(string[] args)
    {
        var defaults = new SimulationOptions();
        var silos = Option("--silos", "Orleans silos (the simulated nodes are spread over them)", defaults.Silos);
        var nodes = Option("--nodes", "Simulated GPU nodes", defaults.Nodes);
        var gpusPerNode = Option("--gpus-per-node", "GPUs per node", defaults.GpusPerNode);
        var gpuTypes = Option("--gpu-types", "Comma-separated GPU types of the nodes, in turn", string.Join(',', defaults.GpuTypes));
        var deployments = Option("--deployments", "Deployments to create", defaults.Deployments);
        var users = Option<int?>("--users", "Users owning them (default: one per 10 deployments)", null);
        var userGpuLimit = Option<int?>("--user-gpu-limit", "Each user's GPU limit (default: 1.5 × the cluster's GPUs / users)", null);
        var gateways = Option("--gateways", "Simulated gateways", defaults.Gateways);
        var minutes = Option("--minutes", "Simulated minutes of workload", defaults.Minutes);
        var compression = Option("--compression", "Simulated seconds per real second (at least 1)", defaults.Compression);
        var rate = Option<double?>("--rate", "Synthetic requests per simulated second, all deployments (default 0.2 per deployment)", null);
        var trace = Option<string?>("--trace", "Replay this CSV trace (timestamp,model,prompt_tokens,output_tokens)", null);
        var latency = Option<string?>("--latency-model", "JSON file laid over the default latency model", null);
        var heartbeats = Option("--heartbeats", "Nodes report to the registry every second, as real nodes do", defaults.Heartbeats);
        var storage = Option("--storage", "Grain state and reminders: memory or sqlite", "memory");
        var sample = Option("--sample-seconds", "Simulated seconds between samples", defaults.SampleSeconds);
        var seed = Option("--seed", "Random seed of the deployments and the workload", defaults.Seed);
        var output = Option<string?>("--out", "Directory for summary.md and the PNG charts", null);
        var root = new RootCommand("Simulates a DeepDeploy cluster of simulated GPU nodes with the production grains and gateway routing.")
        {
            silos, nodes, gpusPerNode, gpuTypes, deployments, users, userGpuLimit, gateways, minutes, compression, rate, trace,
            latency, heartbeats, storage, sample, seed, output,
        };
        root.SetAction(async (parse, _) =>
        {
            var nodeCount = parse.GetValue(nodes);
            var deploymentCount = parse.GetValue(deployments);
            var userCount = parse.GetValue(users) ?? Math.Max(1, deploymentCount / 10);
            var gpus = parse.GetValue(gpusPerNode);
            var options = new SimulationOptions
            {
                Silos = parse.GetValue(silos),
                Nodes = nodeCount,
                GpusPerNode = gpus,
                GpuTypes = parse.GetValue(gpuTypes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Deployments = deploymentCount,
                Users = userCount,
                UserGpuLimit = parse.GetValue(userGpuLimit) ?? (int)Math.Ceiling(1.5 * nodeCount * gpus / userCount),
                Gateways = parse.GetValue(gateways),
                Minutes = parse.GetValue(minutes),
                Compression = parse.GetValue(compression),
                Rate = parse.GetValue(rate),
                Trace = parse.GetValue(trace),
                LatencyModel = parse.GetValue(latency),
                Heartbeats = parse.GetValue(heartbeats),
                InMemoryStorage = parse.GetValue(storage) != "sqlite",
                SampleSeconds = parse.GetValue(sample),
                Seed = parse.GetValue(seed),
                Out = parse.GetValue(output),
            };
            if (options.Silos < 1 || options.Nodes < options.Silos || options.Gateways < 1 || options.Deployments < 1 || options.Minutes <= 0 || options.Compression < 1
                || parse.GetValue(storage) is not ("memory" or "sqlite"))
            {
                await Console.Error.WriteLineAsync("need --silos ≥ 1, --nodes ≥ --silos, --gateways ≥ 1, --deployments ≥ 1, --minutes > 0, --compression ≥ 1, --storage memory|sqlite");
                return 2;
            }

            var result = await SimulationRun.RunAsync(options, line => Console.Error.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {line}")));
            var charts = options.Out is null ? [] : SimulationCharts.Write(result, options.Out);
            var summary = SimulationReport.Markdown(result, charts);
            if (options.Out is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(options.Out, "summary.md"), summary);
            }

            Console.WriteLine(summary);
            return 0;
        });
        return await root.Parse(args).InvokeAsync();
    }

    static Option<T> Option<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };
}
