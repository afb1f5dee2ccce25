using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Output;
using DeepDeploy.Cli.Progress;
using Spectre.Console;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>deploy create|list|info|update|stop|start|delete|events|logs</c> on <c>/deploy</c>.</summary>
public static partial class DeployCommands
{
    static readonly Argument<string> Target = new("deployment") { Description = "Deploy id, or model name (name or user/name)" };

    public static Command Build() => new("deploy", "Create, watch, scale and delete deployments")
    {
        Create(), List(), Info(), Update(), Action("stop", "Stop every instance, keep the deployment"),
        Action("start", "Run a stopped or failed deployment again"), Delete(), Events(), Logs(),
    };

    static Command Create()
    {
        var file = new Option<string?>("--file", "-f") { Description = "YAML or JSON file with the body of POST /deploy/llm ('-' for stdin)" };
        var name = new Option<string?>("--name", "-n") { Description = "model_name" };
        var gpu = new Option<string?>("--gpu") { Description = "GPU type, e.g. A100-80GB (see `deepctl gpus`)" };
        var numGpus = new Option<int?>("--num-gpus") { Description = "GPUs per instance" };
        var batch = new Option<int?>("--max-batch-size") { Description = "Concurrent sequences per instance" };
        var repo = new Option<string?>("--repo") { Description = "Hugging Face repo, owner/name" };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit" };
        var quantization = new Option<string?>("--quantization") { Description = "GGUF quantization or file name" };
        var min = new Option<int?>("--min-instances") { Description = "settings.min_instances" };
        var max = new Option<int?>("--max-instances") { Description = "settings.max_instances" };
        var extra = new Option<string[]>("--extra-arg") { Description = "An engine flag (repeat for more)", AllowMultipleArgumentsPerToken = false };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once created, without watching it start" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to watch before giving up (the deployment goes on)", DefaultValueFactory = _ => 600 };
        var command = new Command("create", "Create a deployment from options or a file (options override the file's fields)")
        {
            file, name, gpu, numGpus, batch, repo, revision, quantization, min, max, extra, noWait, timeout,
        };
        return command.Runs(async (parse, ct) =>
        {
            var body = parse.GetValue(file) is { } path ? DeployFile.Read(path) : [];
            Set(body, "model_name", parse.GetValue(name));
            Set(body, "gpu", parse.GetValue(gpu));
            Set(body, "num_gpus", parse.GetValue(numGpus));
            Set(body, "max_batch_size", parse.GetValue(batch));
            Set(body, "quantization", parse.GetValue(quantization));
            if (parse.GetValue(repo) is not null || parse.GetValue(revision) is not null)
            {
                var hf = body["hf"] as JsonObject ?? [];
                Set(hf, "repo", parse.GetValue(repo));
                Set(hf, "revision", parse.GetValue(revision));
                body["hf"] = hf;
            }

            if (parse.GetValue(min) is not null || parse.GetValue(max) is not null)
            {
                var settings = body["settings"] as JsonObject ?? [];
                Set(settings, "min_instances", parse.GetValue(min));
                Set(settings, "max_instances", parse.GetValue(max));
                body["settings"] = settings;
            }

            if (parse.GetValue(extra) is { Length: > 0 } args)
            {
                body["extra_args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
            }

            if (body.Count == 0)
            {
                throw new ApiException(ExitCodes.Usage, "nothing to create: give --file or at least --name, --gpu and --repo");
            }

            using var client = Shared.Client(parse);
            var created = await client.SendAsync(HttpMethod.Post, "deploy/llm", body.ToJsonString(), ct);
            var id = created.Str("deploy_id");
            if (parse.GetValue(noWait))
            {
                return Shared.Print(parse, created, Show);
            }

            Out.Note($"Created {created.Str("model_name")} ({id}); watching it start (Ctrl+C stops watching, not the deployment).");
            var last = await new DeployProgress(client, id).WatchAsync(TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
            Shared.Print(parse, last, Show);
            return last.Str("status") == "running" ? ExitCodes.Ok : ExitCodes.DeploymentFailed;
        });
    }

    static void Set<T>(JsonObject body, string field, T? value)
    {
        if (value is not null)
        {
            body[field] = JsonValue.Create(value);
        }
    }

    static Command List()
    {
        var status = new Option<string?>("--status") { Description = "Only these statuses, comma-separated (deleted ones only when asked)" };
        return new Command("list", "Your deployments (all users' for the operator)") { status }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var list = await client.GetAsync("deploy/list" + Shared.Query(("status", parse.GetValue(status))), ct);
            return Shared.Print(parse, list, ShowList);
        });
    }

    static void ShowList(JsonElement list)
    {
        var table = Out.Table("ID", "NAME", "STATUS", "GPU", "INSTANCES", "MIN-MAX", "CREATED");
        foreach (var d in list.Items())
        {
            var config = d.Obj("config");
            table.AddRow(Out.Cell(d.Str("deploy_id")), Out.Cell(d.Str("model_name")), Out.Cell(d.Str("status")),
                Out.Cell($"{config.Str("num_gpus")}×{config.Str("gpu")}"),
                Out.Cell($"{d.Obj("instances").Str("running")} running, {d.Obj("instances").Str("pending")} pending"),
                Out.Cell($"{d.Obj("settings").Str("min_instances")}-{d.Obj("settings").Str("max_instances")}"),
                Out.Cell(Time(d.Str("created_at"))));
        }

        Out.Stdout.Write(table);
    }

    static Command Info() => new Command("info", "One deployment") { Target }.Runs(async (parse, ct) =>
    {
        using var client = Shared.Client(parse);
        var id = await ResolveAsync(client, parse.GetValue(Target)!, ct);
        return Shared.Print(parse, await client.GetAsync($"deploy/{ApiClient.Segment(id)}", ct), Show);
    });

    static Command Update()
    {
        var min = new Option<int?>("--min-instances") { Description = "settings.min_instances" };
        var max = new Option<int?>("--max-instances") { Description = "settings.max_instances" };
        return new Command("update", "Change min/max instances (nothing else may change)") { Target, min, max }.Runs(async (parse, ct) =>
        {
            var settings = new JsonObject();
            Set(settings, "min_instances", parse.GetValue(min));
            Set(settings, "max_instances", parse.GetValue(max));
            if (settings.Count == 0)
            {
                throw new ApiException(ExitCodes.Usage, "give --min-instances and/or --max-instances");
            }

            using var client = Shared.Client(parse);
            var id = await ResolveAsync(client, parse.GetValue(Target)!, ct);
            var body = new JsonObject { ["settings"] = settings }.ToJsonString();
            return Shared.Print(parse, await client.SendAsync(HttpMethod.Put, $"deploy/{ApiClient.Segment(id)}", body, ct), Show);
        });
    }

    static Command Action(string verb, string description) => new Command(verb, description) { Target }.Runs(async (parse, ct) =>
    {
        using var client = Shared.Client(parse);
        var id = await ResolveAsync(client, parse.GetValue(Target)!, ct);
        return Shared.Print(parse, await client.SendAsync(HttpMethod.Post, $"deploy/{ApiClient.Segment(id)}/{verb}", null, ct), Show);
    });

    static Command Delete() => new Command("delete", "Delete a deployment: its instances stop, its name is free again") { Target }
        .Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var id = await ResolveAsync(client, parse.GetValue(Target)!, ct);
            return Shared.Print(parse, await client.SendAsync(HttpMethod.Delete, $"deploy/{ApiClient.Segment(id)}", null, ct), Show);
        });

    static Command Events()
    {
        var follow = new Option<bool>("--follow") { Description = "Keep printing new events until Ctrl+C" };
        var limit = new Option<int?>("--limit") { Description = "At most this many (1-500, default 100)" };
        return new Command("events", "What happened to a deployment and why, newest last") { Target, follow, limit }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var id = await ResolveAsync(client, parse.GetValue(Target)!, ct, includeDeleted: true);
            var query = Shared.Query(("limit", parse.GetValue(limit)?.ToString()), ("follow", parse.GetValue(follow) ? "true" : null));
            var path = $"deploy/{ApiClient.Segment(id)}/events{query}";
            if (!parse.GetValue(follow))
            {
                return Shared.Print(parse, await client.GetAsync(path, ct), page =>
                {
                    foreach (var e in page.Obj("events").Items())
                    {
                        Out.Line(EventLine(e));
                    }
                });
            }

            return await FollowAsync(parse, client, path, "deployment_event", EventLine, ct);
        });
    }

    public static string EventLine(JsonElement e) =>
        $"{e.Str("sequence"),4} {Time(e.Str("time"))} {e.Str("kind"),-18} {e.Str("message")}";

    static Command Logs()
    {
        var follow = new Option<bool>("--follow") { Description = "Keep printing new lines until Ctrl+C" };
        var lines = new Option<int?>("--lines") { Description = "Last lines of each instance (1-1000, default 100)" };
        return new Command("logs", "Output of the deployment's engine processes") { Target, follow, lines }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var id = await ResolveAsync(client, parse.GetValue(Target)!, ct);
            var query = Shared.Query(("lines", parse.GetValue(lines)?.ToString()), ("follow", parse.GetValue(follow) ? "true" : null));
            var path = $"deploy/{ApiClient.Segment(id)}/logs{query}";
            if (!parse.GetValue(follow))
            {
                return Shared.Print(parse, await client.GetAsync(path, ct), logs =>
                {
                    foreach (var instance in logs.Items())
                    {
                        foreach (var line in instance.Obj("lines").Items())
                        {
                            Out.Line($"{instance.Str("instance_id")} {(line.ValueKind == JsonValueKind.String ? line.GetString() : line.Str("line"))}");
                        }
                    }
                });
            }

            return await FollowAsync(parse, client, path, "log", l => $"{l.Str("instance_id")} {l.Str("line")}", ct);
        });
    }

    /// <summary>Prints a server-sent-event stream item by item until the server ends it or the user presses Ctrl+C.</summary>
    static async Task<int> FollowAsync(ParseResult parse, ApiClient client, string path, string eventType, Func<JsonElement, string> human,
        CancellationToken ct)
    {
        try
        {
            await foreach (var item in client.StreamAsync(HttpMethod.Get, path, null, ct))
            {
                if (item.EventType != eventType)
                {
                    continue;
                }

                var value = JsonSerializer.Deserialize<JsonElement>(item.Data);
                if (Shared.WantsJson(parse))
                {
                    Out.Json(value);
                }
                else
                {
                    Out.Line(human(value));
                    Console.Out.Flush();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl+C: the user is done following.
        }

        return ExitCodes.Ok;
    }

    public static void Show(JsonElement d)
    {
        var config = d.Obj("config");
        var weights = config.Obj("weights");
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string value)
        {
            if (value.Length > 0)
            {
                grid.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), Out.Cell(value));
            }
        }

        Row("deploy_id", d.Str("deploy_id"));
        Row("model_name", d.Str("model_name"));
        Row("status", d.Str("status"));
        Row("fail_reason", d.Str("fail_reason"));
        Row("gpu", $"{config.Str("num_gpus")}×{config.Str("gpu")}, max_batch_size {config.Str("max_batch_size")}");
        Row("weights", string.Join(" ", new[] { weights.Str("repo"), weights.Str("revision"), weights.Str("quantization"), weights.Str("file") }
            .Where(s => s.Length > 0)));
        Row("instances", $"{d.Obj("instances").Str("running")} running, {d.Obj("instances").Str("pending")} pending");
        Row("settings", $"min {d.Obj("settings").Str("min_instances")}, max {d.Obj("settings").Str("max_instances")}");
        if (d.Obj("download").ValueKind == JsonValueKind.Object && long.TryParse(d.Obj("download").Str("bytes_done"), out var done)
            && long.TryParse(d.Obj("download").Str("bytes_total"), out var total))
        {
            Row("download", $"{Out.Bytes(done)} of {Out.Bytes(total)}");
        }

        Row("created_at", Time(d.Str("created_at")));
        Row("updated_at", Time(d.Str("updated_at")));
        Out.Stdout.Write(grid);
    }

    static string Time(string iso) =>
        DateTimeOffset.TryParse(iso, out var t) ? t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss") : iso;

    /// <summary>A deploy id as given, or the id of the caller's live deployment with that model name.</summary>
    public static async Task<string> ResolveAsync(ApiClient client, string target, CancellationToken ct, bool includeDeleted = false)
    {
        if (DeployId().IsMatch(target))
        {
            return target;
        }

        var statuses = includeDeleted ? "?status=initializing,downloading,deploying,running,stopped,failed,deleted" : "";
        var matches = (await client.GetAsync("deploy/list" + statuses, ct)).Items()
            .Where(d => d.Str("model_name") == target || d.Str("model_name").EndsWith("/" + target, StringComparison.Ordinal))
            .ToList();
        var live = matches.Where(d => d.Str("status") != "deleted").ToList();
        return (live.Count, matches.Count) switch
        {
            (_, 0) => throw new ApiException(ExitCodes.NotFound, $"no deployment with id or model name '{target}'"),
            (1, _) => live[0].Str("deploy_id"),
            // Only deleted ones (their events stay readable): the newest, as the list comes newest first.
            (0, _) => matches[0].Str("deploy_id"),
            _ => throw new ApiException(ExitCodes.Usage, $"'{target}' names {live.Count} deployments; give the deploy id or user/name"),
        };
    }

    [GeneratedRegex("^[0-9a-f]{20}$")]
    private static partial Regex DeployId();
}
