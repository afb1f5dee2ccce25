using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Weights;

/// <summary>The whole system (silo, gateway, node with real worker processes) deploying from the local hub stand-in
/// over real HTTP (HF_ENDPOINT points at it): private repos, quantization choice, cache hits, progress, engine profiles.</summary>
[Collection(SystemCollection.Name)]
public sealed class WeightsSystemTests(ITestOutputHelper output)
{
    static object Deployment(string name, string repo, string? quantization = null, string? token = null, string[]? extraArgs = null) => new Dictionary<string, object?>
    {
        ["model_name"] = name,
        ["gpu"] = "A100-80GB",
        ["num_gpus"] = 1,
        ["max_batch_size"] = 4,
        ["hf"] = token is null ? new { repo } : new { repo, token },
        ["settings"] = new { min_instances = 1, max_instances = 2 },
        ["quantization"] = quantization,
        ["extra_args"] = extraArgs ?? [],
    }.Where(p => p.Value is not null).ToDictionary();

    static async Task<string> DeployAsync(HttpClient client, object body)
    {
        var created = await client.PostAsJsonAsync("/deploy/llm", body);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
    }

    static Task<JsonElement> WaitStatus(HttpClient client, string id, string status, int seconds = 90) =>
        RunningSystem.WaitForAsync(client, id, d => d.GetProperty("status").GetString() == status, TimeSpan.FromSeconds(seconds));

    static async Task ChatAsync(HttpClient client, string model)
    {
        var response = await client.PostAsJsonAsync("/v1/openai/chat/completions",
            new { model, messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 4, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(model, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Private_repos_quantization_choice_cache_hits_progress_and_named_failures_through_the_deploy_api()
    {
        await using var hub = await WeightsHub.StartAsync();
        hub.WriteGguf("acme/quants", "tiny.Q4_K_M.gguf", 1);
        hub.WriteGguf("acme/quants", "tiny.Q8_0.gguf", 2);
        hub.WriteGguf("acme/quants", "tiny.F16.gguf", 3);
        hub.WriteGguf("acme/private", "tiny.gguf", 4);
        hub.MakePrivate("acme/private", "hf_right");
        hub.Write("acme/st", "model.safetensors", new byte[100]);
        hub.Write("acme/st", "config.json", "{}"u8.ToArray());
        hub.Write("acme/slow", "big.gguf", new byte[3_000_000]);
        hub.Cut("acme/slow", 500_000, times: 2);
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint });
        var token = await system.CreateUserAsync("wendy");
        using var client = system.Client(token);

        // Quantization picks the file among several GGUFs; the model loads in the real worker and answers.
        var q8 = await DeployAsync(client, Deployment("q8", "acme/quants", "Q8_0"));
        var running = await WaitStatus(client, q8, "running");
        Assert.Equal("tiny.Q8_0.gguf", running.GetProperty("config").GetProperty("weights").GetProperty("file").GetString());
        Assert.Equal("Q8_0", running.GetProperty("config").GetProperty("weights").GetProperty("quantization").GetString());
        await ChatAsync(client, "wendy/q8");
        Assert.Equal(1, hub.Downloads("acme/quants", "tiny.Q8_0.gguf"));
        Assert.Equal(0, hub.Downloads("acme/quants", "tiny.F16.gguf"));

        // A second deployment of the same weights is a cache hit: no second download.
        var again = await DeployAsync(client, Deployment("q8-again", "acme/quants", "tiny.Q8_0.gguf"));
        await WaitStatus(client, again, "running");
        Assert.Equal(1, hub.Downloads("acme/quants", "tiny.Q8_0.gguf"));
        Assert.Single(Directory.GetFiles(Path.Combine(system.DataDir, "nodes", "test-node", "models", "acme--quants", "blobs")));

        // Nothing matches: the fail reason lists what the repo has.
        var q2 = await DeployAsync(client, Deployment("q2", "acme/quants", "Q2_K"));
        var failed = await WaitStatus(client, q2, "failed");
        Assert.Contains("no GGUF file for quantization 'Q2_K'", failed.GetProperty("fail_reason").GetString());
        Assert.Contains("tiny.Q4_K_M.gguf", failed.GetProperty("fail_reason").GetString());

        // Private repo: no token, a wrong token, the right one.
        var anonymous = await WaitStatus(client, await DeployAsync(client, Deployment("p0", "acme/private")), "failed");
        Assert.Equal("weights repo 'acme/private': repository not found or not accessible", anonymous.GetProperty("fail_reason").GetString());
        var wrong = await WaitStatus(client, await DeployAsync(client, Deployment("p1", "acme/private", token: "hf_wrong")), "failed");
        Assert.Equal("weights repo 'acme/private': repository not found or not accessible", wrong.GetProperty("fail_reason").GetString());
        Assert.DoesNotContain("hf_wrong", wrong.ToString());
        await client.DeleteAsync($"/deploy/{q2}");
        var right = await DeployAsync(client, Deployment("p2", "acme/private", token: "hf_right"));
        Assert.DoesNotContain("hf_right", (await WaitStatus(client, right, "running")).ToString());
        await ChatAsync(client, "wendy/p2");

        // No engine on the node takes safetensors: said plainly.
        var st = await WaitStatus(client, await DeployAsync(client, Deployment("st", "acme/st")), "failed", 60);
        Assert.Contains("no engine on node test-node takes safetensors weights; configure an engine profile", st.GetProperty("fail_reason").GetString());
        Assert.Equal(0, hub.Downloads("acme/st"));

        // A download cut twice: progress shows while downloading, then it resumes to the end (the zeros do not load).
        await client.DeleteAsync($"/deploy/{q8}");
        await client.DeleteAsync($"/deploy/{again}");
        var slow = await DeployAsync(client, Deployment("slow", "acme/slow"));
        var downloading = await RunningSystem.WaitForAsync(client, slow, d => d.GetProperty("status").GetString() == "downloading"
            && d.TryGetProperty("download", out var p) && p.ValueKind == JsonValueKind.Object && p.GetProperty("bytes_done").GetInt64() > 0,
            TimeSpan.FromSeconds(30));
        output.WriteLine($"downloading: {downloading.GetProperty("download")}");
        Assert.Equal(3_000_000, downloading.GetProperty("download").GetProperty("bytes_total").GetInt64());
        await RunningSystem.WaitForAsync(client, slow, d => d.GetProperty("status").GetString() != "downloading", TimeSpan.FromSeconds(30));
        var ranges = hub.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/big.gguf")).Select(r => r.Range).ToList();
        Assert.Equal(3, ranges.Count);
        Assert.Null(ranges[0]);
        Assert.All(ranges.Skip(1), r => Assert.StartsWith("bytes=", r));
        await client.DeleteAsync($"/deploy/{slow}");
    }

    [Fact]
    public async Task Weights_over_the_limit_fail_a_deleted_download_leaves_no_partial_file_and_hf_token_goes_only_to_allowed_repos()
    {
        await using var hub = await WeightsHub.StartAsync();
        hub.Write("acme/huge", "huge.gguf", new byte[3_000_000]);
        var tiny = new FileInfo(hub.WriteGguf("acme/slow", "tiny.gguf", 5)).Length;
        hub.Throttle("acme/slow", Math.Max(1, tiny / 10)); // ten seconds
        hub.WriteGguf("acme/allowed-private", "tiny.gguf", 6);
        hub.MakePrivate("acme/allowed-private", "hf_operator");
        hub.WriteGguf("acme/private", "tiny.gguf", 7);
        hub.MakePrivate("acme/private", "hf_operator");
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_TOKEN"] = "hf_operator",
            ["DeepDeploy:Node:HfTokenRepos"] = "acme/allowed-*",
            ["DeepDeploy:Node:MaxWeightsBytes"] = "2000000",
        });
        var token = await system.CreateUserAsync("yann");
        using var client = system.Client(token);
        var models = Path.Combine(system.DataDir, "nodes", "test-node", "models");
        string[] Partials() => Directory.Exists(models) ? Directory.GetFiles(models, "*.incomplete", SearchOption.AllDirectories) : [];

        // Over the maximum weights size: failed with the limit and the size, nothing downloaded.
        var huge = await WaitStatus(client, await DeployAsync(client, Deployment("huge", "acme/huge")), "failed");
        Assert.StartsWith("weights of repo 'acme/huge' are 2.9 MiB (3000000 bytes), over the maximum weights size of 1.9 MiB (2000000 bytes) per deployment",
            huge.GetProperty("fail_reason").GetString());
        Assert.Equal(0, hub.Downloads("acme/huge"));

        // Deleted while downloading: the download stops and leaves no partial file; the same weights deploy afterwards.
        var slow = await DeployAsync(client, Deployment("slow", "acme/slow"));
        await Eventually.MatchAsync(async () => (Partials().Length, await client.GetStringAsync($"/deploy/{slow}")),
            seen => seen.Length > 0, TimeSpan.FromSeconds(60), "a partial file");
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{slow}")).StatusCode);
        await Eventually.MatchAsync(() => Task.FromResult((Partials: string.Join(",", Partials()), Instances: system.Agent.Instances.Count)),
            seen => seen is { Partials: "", Instances: 0 }, TimeSpan.FromSeconds(30), "no partial file, no instance");
        Assert.Empty(Directory.GetFiles(Path.Combine(models, "acme--slow", "blobs"))); // cancelled, not finished
        hub.Throttle("acme/slow", null);
        await WaitStatus(client, await DeployAsync(client, Deployment("slow-again", "acme/slow")), "running");

        // HF_TOKEN only for repos on DeepDeploy:Node:HfTokenRepos; another repo it could read says only "not accessible".
        await WaitStatus(client, await DeployAsync(client, Deployment("allowed", "acme/allowed-private")), "running");
        await ChatAsync(client, "yann/allowed");
        var other = await WaitStatus(client, await DeployAsync(client, Deployment("other", "acme/private")), "failed");
        Assert.Equal("weights repo 'acme/private': repository not found or not accessible", other.GetProperty("fail_reason").GetString());
    }

    [Fact]
    public async Task External_engine_profile_is_started_from_its_template_health_checked_routed_scaled_and_stopped()
    {
        await using var hub = await WeightsHub.StartAsync();
        hub.Write("acme/st", "model.safetensors", new byte[1000]);
        hub.Write("acme/st", "config.json", "{}"u8.ToArray());
        // TEST DOUBLE for vLLM: our own worker's fake engine (an OpenAI-compatible server that needs no weights),
        // started through a profile like any external engine; it cannot print for us, so the node picks its port.
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["DeepDeploy:Node:Engines:fake-vllm:Command"] = "{dotnet}",
            ["DeepDeploy:Node:Engines:fake-vllm:Args"] = "{worker} --engine fake --fake-token-rate 0 --host {host} --port {port} "
                + "--max-batch-size {max_batch_size} --served-model-name {served_model_name} --instance-id {instance_id} [--quantization {quantization}] {extra_args}",
            ["DeepDeploy:Node:Engines:fake-vllm:Formats"] = "safetensors",
            ["DeepDeploy:Node:Engines:fake-vllm:HealthPath"] = "/health",
            ["DeepDeploy:Node:Engines:fake-vllm:LoadMetrics"] = "deepdeploy_worker_requests_in_flight",
            ["DeepDeploy:Node:Engines:fake-vllm:Environment:FAKE_ENGINE_MODEL_DIR"] = "{model_path}",
            ["DeepDeploy:Node:Engines:fake-vllm:AllowedArgs:0"] = "--max-queue",
        });
        var token = await system.CreateUserAsync("xena");
        using var client = system.Client(token);

        var id = await DeployAsync(client, Deployment("ext", "acme/st", extraArgs: ["--max-queue", "3"]));
        var running = await WaitStatus(client, id, "running");
        Assert.Equal("", running.GetProperty("config").GetProperty("weights").GetProperty("file").GetString());
        var instance = Assert.Single(system.Agent.Instances);
        Assert.Equal("fake-vllm", instance.EngineName);
        var args = instance.Process!.StartInfo.ArgumentList;
        var port = instance.Endpoint!.Split(':')[^1];
        Assert.Equal(port, args[args.IndexOf("--port") + 1]);
        Assert.Equal("xena/ext", args[args.IndexOf("--served-model-name") + 1]);
        Assert.Equal("4", args[args.IndexOf("--max-batch-size") + 1]);
        Assert.Equal(["--max-queue", "3"], args.Skip(args.Count - 2));
        Assert.DoesNotContain("--quantization", args);
        var snapshot = instance.Process.StartInfo.Environment["FAKE_ENGINE_MODEL_DIR"]!;
        Assert.True(File.Exists(Path.Combine(snapshot, "model.safetensors")) && File.Exists(Path.Combine(snapshot, "config.json")));

        await ChatAsync(client, "xena/ext");
        Assert.Equal(0.0, await system.Agent.ReadEngineLoadAsync(instance.Launch.InstanceId, default));

        var scaled = await client.PutAsJsonAsync($"/deploy/{id}", new { settings = new { min_instances = 2, max_instances = 2 } });
        Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
        await RunningSystem.WaitForAsync(client, id, d => d.GetProperty("instances").GetProperty("running").GetInt32() == 2, TimeSpan.FromSeconds(60));
        var processes = system.Agent.Instances.Select(i => i.Process!).ToList();
        Assert.Equal(2, processes.Select(p => p.Id).Distinct().Count());
        Assert.Equal(1, hub.Downloads("acme/st", "model.safetensors")); // the second instance shares the node's cache
        for (var i = 0; i < 4; i++)
        {
            await ChatAsync(client, "xena/ext");
        }

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/deploy/{id}")).StatusCode);
        await Task.WhenAll(processes.Select(p => p.WaitForExitAsync())).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
