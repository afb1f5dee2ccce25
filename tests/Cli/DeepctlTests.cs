using System.Runtime.Versioning;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Cli;

/// <summary>The real deepctl against the real all-in-one system: what a user types, what a script reads.</summary>
[Collection(SystemCollection.Name)]
public sealed class DeepctlTests(DeepctlSystem fixture, ITestOutputHelper output) : IClassFixture<DeepctlSystem>
{
    const string TinyYaml = """
        # The body of POST /deploy/llm, as YAML.
        model_name: tiny
        gpu: A100-80GB
        num_gpus: 1
        max_batch_size: 4
        hf:
          repo: deepdeploy/tiny-llama-gguf
        settings:
          min_instances: 1
          max_instances: 1
        """;

    RunningSystem System => fixture.System;

    async Task<DeepctlRun> Run(Deepctl cli, string[] args, string? stdin = null, string? token = null, int expect = 0)
    {
        var run = await cli.RunAsync(args, stdin, token);
        output.WriteLine($"$ deepctl {string.Join(' ', args)}\n{run}");
        Assert.True(run.ExitCode == expect, $"expected exit {expect}: {run}");
        return run;
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task Login_create_with_progress_list_logs_chat_scale_and_delete()
    {
        var token = await System.CreateUserAsync("cli-alice");
        using var cli = new Deepctl(System.BaseAddress);

        // Login reads the token from stdin and keeps it in a file only its owner may read; it is never printed.
        var login = await Run(cli, ["auth", "login"], stdin: token + "\n");
        Assert.Contains("cli-alice", login.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ConfigPath));
        var whoami = await Run(cli, ["auth", "whoami"]);
        Assert.Contains("cli-alice", whoami.Stdout);

        // Create from a YAML file, watching it start: plain progress lines (no terminal) on stderr, the result on stdout.
        var file = Path.Combine(cli.Home, "tiny.yaml");
        await File.WriteAllTextAsync(file, TinyYaml);
        var create = await Run(cli, ["deploy", "create", "-f", file, "--json"]);
        var created = JsonSerializer.Deserialize<JsonElement>(create.Stdout);
        Assert.Equal("running", created.GetProperty("status").GetString());
        Assert.Equal("cli-alice/tiny", created.GetProperty("model_name").GetString());
        // The first status line depends on how quickly the download begins; the events history always holds the start.
        Assert.Contains("status_changed: initializing", create.Stderr);
        Assert.Contains("status running, instances 1 running, 0 pending", create.Stderr);
        var id = created.GetProperty("deploy_id").GetString()!;

        var table = await Run(cli, ["deploy", "list"]);
        Assert.Contains("cli-alice/tiny", table.Stdout);
        Assert.Contains("running", table.Stdout);
        Assert.Contains("1×A100-80GB", table.Stdout);
        var listed = JsonSerializer.Deserialize<JsonElement>((await Run(cli, ["deploy", "list", "--json"])).Stdout);
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("deploy_id").GetString());

        // logs --follow prints the engine's lines and keeps following until stopped.
        await using (var follow = cli.Start(["deploy", "logs", "tiny", "--follow"]))
        {
            await follow.WaitForLineAsync(l => l.Contains("DEEPDEPLOY_WORKER_LISTENING"), TimeSpan.FromSeconds(30), "the engine's log lines");
            Assert.False(follow.HasExited);
        }

        // Chat driven by stdin: each line is a message, each answer is streamed to stdout.
        var chat = await Run(cli, ["chat", "tiny", "--max-tokens", "12", "--temperature", "0"], stdin: "Hello there\nAnd again\n");
        Assert.True(chat.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2, chat.ToString());
        Assert.True(Worker.TinyLlamaGgufTests.WordShare(chat.Stdout) >= 0.8, chat.ToString()); // the tiny model speaks words
        var infer = await Run(cli, ["infer", "cli-alice/tiny", "Once upon a time", "--max-tokens", "8"]);
        Assert.False(string.IsNullOrWhiteSpace(infer.Stdout));

        var scaled = await Run(cli, ["deploy", "update", id, "--max-instances", "2", "--json"]);
        Assert.Equal(2, JsonSerializer.Deserialize<JsonElement>(scaled.Stdout).GetProperty("settings").GetProperty("max_instances").GetInt32());

        var deleted = await Run(cli, ["deploy", "delete", "tiny", "--json"]);
        Assert.Equal("deleted", JsonSerializer.Deserialize<JsonElement>(deleted.Stdout).GetProperty("status").GetString());

        // The token appears in nothing deepctl wrote.
        Assert.DoesNotContain(token, login.Stdout + login.Stderr + whoami.Stdout + create.Stdout + create.Stderr + chat.Stdout);
    }

    [Fact]
    public async Task Refusals_give_the_API_message_and_an_exit_code_by_kind()
    {
        using var cli = new Deepctl(System.BaseAddress);

        var wrong = await Run(cli, ["deploy", "list"], token: "dd-not-a-token-anybody-has", expect: 3);
        Assert.Contains("Missing or invalid token", wrong.Stderr);
        Assert.Contains("deepctl auth login", wrong.Stderr);
        var refusedLogin = await Run(cli, ["auth", "login"], stdin: "dd-wrong-token\n", expect: 3);
        Assert.False(File.Exists(cli.ConfigPath), refusedLogin.ToString());

        var token = await System.CreateUserAsync("cli-bob");
        await Run(cli, ["deploy", "list", "--bogus"], token: token, expect: 2);

        // A typo in the file is the API's 400, naming the field.
        var file = Path.Combine(cli.Home, "typo.yaml");
        await File.WriteAllTextAsync(file, TinyYaml.Replace("max_batch_size", "max_bacth_size"));
        var typo = await Run(cli, ["deploy", "create", "-f", file], token: token, expect: 1);
        Assert.Contains("max_bacth_size", typo.Stderr);
        Assert.Contains("unknown_field", typo.Stderr);

        await Run(cli, ["deploy", "info", "no-such-model"], token: token, expect: 4);
        await Run(cli, ["admin", "users"], token: token, expect: 3);
        var users = await Run(cli, ["admin", "users", "--json"], token: SystemHttp.AdminToken);
        Assert.Contains(JsonSerializer.Deserialize<JsonElement>(users.Stdout).EnumerateArray(), u => u.GetProperty("name").GetString() == "cli-bob");

        await Run(cli, ["admin", "nodes"], token: token, expect: 3);
        var nodes = JsonSerializer.Deserialize<JsonElement>((await Run(cli, ["admin", "nodes", "--json"], token: SystemHttp.AdminToken)).Stdout);
        var node = nodes.GetProperty("nodes").EnumerateArray().First();
        var table = await Run(cli, ["admin", "nodes"], token: SystemHttp.AdminToken);
        Assert.Contains(node.GetProperty("name").GetString()!, table.Stdout);
        Assert.Contains(node.GetProperty("state").GetString()!, table.Stdout);
    }
}
