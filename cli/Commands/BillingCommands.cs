using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Output;
using Spectre.Console;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>billing usage|invoices|limit</c> on <c>/billing</c>.</summary>
public static class BillingCommands
{
    public static Command Build() => new("billing", "What your deployments cost") { Usage(), Invoices(), Limit() };

    static Command Usage()
    {
        var from = new Option<string?>("--from") { Description = "Start, ISO 8601 (default: start of this month)" };
        var to = new Option<string?>("--to") { Description = "End, ISO 8601 (default: now)" };
        return new Command("usage", "GPU time and cost per deployment in a range") { from, to }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var usage = await client.GetAsync("billing/usage" + Shared.Query(("from", parse.GetValue(from)), ("to", parse.GetValue(to))), ct);
            return Shared.Print(parse, usage, u =>
            {
                var table = Out.Table("DEPLOYMENT", "NAME", "GPU", "GPU-HOURS", "USD");
                foreach (var line in u.Obj("deployments").Items())
                {
                    var gpuSeconds = double.TryParse(line.Str("gpu_seconds"), CultureInfo.InvariantCulture, out var s) ? s : 0;
                    table.AddRow(Out.Cell(line.Str("deploy_id")), Out.Cell(line.Str("model_name")),
                        Out.Cell($"{line.Str("num_gpus")}×{line.Str("gpu")}"), Out.Cell((gpuSeconds / 3600).ToString("0.0000", CultureInfo.InvariantCulture)),
                        Out.Cell(line.Str("cost_usd")));
                }

                Out.Line($"{u.Str("from")} – {u.Str("to")}");
                Out.Stdout.Write(table);
                Out.Line($"total: {u.Str("total_usd")} USD");
            });
        });
    }

    static Command Invoices()
    {
        var week = new Argument<string?>("week") { Description = "An ISO week, e.g. 2026-W48, for its lines", Arity = ArgumentArity.ZeroOrOne };
        return new Command("invoices", "Weekly invoices (ISO weeks, Monday 00:00 UTC), newest first; or one week's lines") { week }
            .Runs(async (parse, ct) =>
            {
                using var client = Shared.Client(parse);
                if (parse.GetValue(week) is { } one)
                {
                    return Shared.Print(parse, await client.GetAsync($"billing/invoices/{ApiClient.Segment(one)}", ct), invoice =>
                    {
                        var table = Out.Table("DEPLOYMENT", "NAME", "GPU", "GPU-HOURS", "USD");
                        foreach (var line in invoice.Obj("lines").Items())
                        {
                            table.AddRow(Out.Cell(line.Str("deploy_id")), Out.Cell(line.Str("model_name")),
                                Out.Cell($"{line.Str("num_gpus")}×{line.Str("gpu")}"), Out.Cell(line.Str("gpu_hours")), Out.Cell(line.Str("amount_usd")));
                        }

                        Out.Line($"invoice {invoice.Str("week")}");
                        Out.Stdout.Write(table);
                        Out.Line($"total: {invoice.Str("total_usd")} USD");
                    });
                }

                return Shared.Print(parse, await client.GetAsync("billing/invoices", ct), list =>
                {
                    var table = Out.Table("WEEK", "FROM", "TO", "USD");
                    foreach (var invoice in list.Items())
                    {
                        table.AddRow(Out.Cell(invoice.Str("week")), Out.Cell(invoice.Str("from")), Out.Cell(invoice.Str("to")), Out.Cell(invoice.Str("total_usd")));
                    }

                    Out.Stdout.Write(table);
                });
            });
    }

    static Command Limit()
    {
        var set = new Option<decimal?>("--set") { Description = "Set the monthly limit, in USD" };
        var remove = new Option<bool>("--remove") { Description = "Remove the limit" };
        return new Command("limit", "The monthly spending limit and what was spent; --set or --remove changes it") { set, remove }
            .Runs(async (parse, ct) =>
            {
                if (parse.GetValue(set) is not null && parse.GetValue(remove))
                {
                    throw new ApiException(ExitCodes.Usage, "give --set or --remove, not both");
                }

                using var client = Shared.Client(parse);
                var answer = parse.GetValue(set) is { } usd
                    ? await client.SendAsync(HttpMethod.Put, "billing/limit", new JsonObject { ["usd"] = usd }.ToJsonString(), ct)
                    : parse.GetValue(remove)
                        ? await client.SendAsync(HttpMethod.Put, "billing/limit", """{"usd": null}""", ct)
                        : await client.GetAsync("billing/limit", ct);
                return Shared.Print(parse, answer, l =>
                {
                    var limit = l.Str("limit_usd") is { Length: > 0 } value ? $"{value} USD" : "none";
                    var state = l.Str("reached") == "true" ? " — LIMIT REACHED: deployments are stopped"
                        : l.Str("warning") == "true" ? " — warning: 80 % of the limit spent" : "";
                    Out.Line($"monthly limit: {limit}; spent {l.Str("spent_usd")} USD from {l.Str("period_start")} to {l.Str("period_end")}{state}");
                    foreach (var e in l.Obj("events").Items())
                    {
                        Out.Line($"  {e.Str("at")} {e.Str("kind")}: {e.Str("message")}");
                    }
                });
            });
    }
}
