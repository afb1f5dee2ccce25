using System.CommandLine;
using System.Text.Json.Nodes;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Output;
using Spectre.Console;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>admin users|quota|nodes|revoke|events</c>: the operator's calls.</summary>
public static class AdminCommands
{
    static readonly Argument<string> User = new("user") { Description = "User name" };

    public static Command Build() => new("admin", "Operator calls (the operator's token)") { Users(), Quota(), Nodes(), Revoke(), Events() };

    static Command Users()
    {
        var name = new Argument<string>("name") { Description = "The new user's name" };
        var create = new Command("create", "Create a user; prints the user's API token once (hand it over, it is not stored readable)")
        {
            name,
        }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var body = new JsonObject { ["name"] = parse.GetValue(name) }.ToJsonString();
            return Shared.Print(parse, await client.SendAsync(HttpMethod.Post, "admin/users", body, ct), user =>
            {
                Out.Note($"Created user {user.Str("name")}. Its token (shown once):");
                Out.Line(user.Str("token"));
            });
        });
        return new Command("users", "Users with their limits and use") { create }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            return Shared.Print(parse, await client.GetAsync("admin/users", ct), users =>
            {
                var table = Out.Table("NAME", "GPUS", "DEPLOYMENTS", "CONCURRENT", "REQUEST BYTES", "COLD START", "CREATED");
                foreach (var u in users.Items())
                {
                    table.AddRow(Out.Cell(u.Str("name")), Out.Cell($"{u.Str("gpus_reserved")}/{u.Str("gpu_limit")}"),
                        Out.Cell($"{u.Str("live_deployments")}/{u.Str("max_deployments")}"), Out.Cell(u.Str("max_concurrent_requests")),
                        Out.Cell(u.Str("max_request_bytes")), Out.Cell(u.Str("max_cold_start_requests")), Out.Cell(u.Str("created_at")));
                }

                Out.Stdout.Write(table);
            });
        });
    }

    static Command Quota()
    {
        string[] fields = ["gpu_limit", "max_deployments", "max_concurrent_requests", "max_request_bytes", "max_cold_start_requests"];
        var options = fields.Select(f => new Option<long?>("--" + f.Replace('_', '-')) { Description = f }).ToArray();
        var command = new Command("quota", "Set a user's limits (absent ones are unchanged)") { User };
        foreach (var option in options)
        {
            command.Add(option);
        }

        return command.Runs(async (parse, ct) =>
        {
            var body = new JsonObject();
            for (var i = 0; i < fields.Length; i++)
            {
                if (parse.GetValue(options[i]) is { } value)
                {
                    body[fields[i]] = value;
                }
            }

            if (body.Count == 0)
            {
                throw new ApiException(ExitCodes.Usage, $"give at least one of {string.Join(", ", options.Select(o => o.Name))}");
            }

            using var client = Shared.Client(parse);
            var answer = await client.SendAsync(HttpMethod.Put, $"admin/users/{ApiClient.Segment(parse.GetValue(User)!)}/quota", body.ToJsonString(), ct);
            return Shared.Print(parse, answer, u =>
            {
                foreach (var field in fields)
                {
                    Out.Line($"{field}: {u.Str(field)}");
                }
            });
        });
    }

    /// <summary>One row per GPU, the node's columns on its first row only; a node whose GPUs are unknown gets one row saying why.</summary>
    static Command Nodes() => new Command("nodes", "GPU nodes: state, last report, and which deployment holds each GPU")
        .Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            return Shared.Print(parse, await client.GetAsync("admin/nodes", ct), answer =>
            {
                var table = Out.Table("NODE", "STATE", "FREE", "LAST REPORT", "GPU", "TYPE", "HOLDER", "DEPLOY ID", "INSTANCE");
                foreach (var node in answer.Obj("nodes").Items())
                {
                    var gpus = node.Obj("gpus").Items().ToList();
                    string[] head = [node.Str("name"), node.Str("state"), $"{node.Str("free_gpus")}/{node.Str("gpu_count")}", node.Str("last_report_at")];
                    if (gpus.Count == 0)
                    {
                        table.AddRow([.. head.Select(Out.Cell), Out.Cell("-"), Out.Cell(node.Str("gpu_type")), Out.Cell(node.Str("unreachable")), Out.Cell(""), Out.Cell("")]);
                        continue;
                    }

                    foreach (var (gpu, i) in gpus.Select((g, i) => (g, i)))
                    {
                        var held = gpu.Str("state") == "held";
                        table.AddRow([.. (i == 0 ? head : ["", "", "", ""]).Select(Out.Cell), Out.Cell(gpu.Str("index")), Out.Cell(gpu.Str("type")),
                            Out.Cell(held ? gpu.Str("model") is { Length: > 0 } model ? model : gpu.Str("owner") : "free"),
                            Out.Cell(held ? gpu.Str("deploy_id") : ""), Out.Cell(held ? gpu.Str("instance_id") : "")]);
                    }
                }

                Out.Stdout.Write(table);
                Out.Note($"{answer.Str("free_gpus")} of {answer.Str("gpu_count")} GPUs free on live nodes");
            });
        });

    static Command Revoke() => new Command("revoke", "Revoke all of a user's API tokens (refused everywhere within 5 s)") { User }
        .Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var answer = await client.SendAsync(HttpMethod.Post, $"admin/users/{ApiClient.Segment(parse.GetValue(User)!)}/revoke", null, ct);
            return Shared.Print(parse, answer, a => Out.Line($"revoked {a.Str("revoked")} token(s) of {a.Str("name")}"));
        });

    static Command Events()
    {
        var limit = new Option<int?>("--limit") { Description = "At most this many (1-500, default 100)" };
        return new Command("events", "The cluster-wide event feed, newest last") { limit }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var page = await client.GetAsync("admin/events" + Shared.Query(("limit", parse.GetValue(limit)?.ToString())), ct);
            return Shared.Print(parse, page, p =>
            {
                foreach (var e in p.Obj("events").Items())
                {
                    Out.Line($"{e.Str("owner")} {e.Str("deploy_id")} {DeployCommands.EventLine(e)}");
                }
            });
        });
    }
}
