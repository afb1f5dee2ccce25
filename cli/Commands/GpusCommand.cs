using System.CommandLine;
using DeepDeploy.Cli.Output;
using Spectre.Console;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>gpus</c>: <c>GET /deploy/llm/gpu_availability</c>, each GPU configuration with its price and whether one
/// could start now (and why not).</summary>
public static class GpusCommand
{
    public static Command Build() => new Command("gpus", "GPU configurations: price per hour, free GPUs, whether one could start now")
        .Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            return Shared.Print(parse, await client.GetAsync("deploy/llm/gpu_availability", ct), answer =>
            {
                var table = Out.Table("CONFIG", "USD/HOUR", "FREE GPUS", "AVAILABLE", "WHY NOT");
                foreach (var gpu in answer.Obj("gpus").Items())
                {
                    table.AddRow(Out.Cell(gpu.Str("gpu_config")), Out.Cell(gpu.Str("usd_per_hour")), Out.Cell(gpu.Str("free_gpus")),
                        Out.Cell(gpu.Str("available") == "true" ? "yes" : "no"), Out.Cell(gpu.Str("reason")));
                }

                Out.Stdout.Write(table);
            });
        });
}
