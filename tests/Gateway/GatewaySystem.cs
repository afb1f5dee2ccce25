using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Helpers for gateway tests over the real system: deployments of the tiny model whose workers run the
/// fake engine (a test double emitting tokens at a fixed rate), and readers of worker metrics.</summary>
public static class GatewaySystem
{
    /// <summary>Starts the system with fake-engine workers at <paramref name="tokenRate"/> tokens/s per sequence.</summary>
    public static Task<RunningSystem> StartAsync(double tokenRate, IReadOnlyDictionary<string, string>? extra = null, string? workerArgs = null)
    {
        var config = new Dictionary<string, string>
        {
            ["DeepDeploy:Node:WorkerArgs"] = $"--engine fake --fake-token-rate {tokenRate.ToString(CultureInfo.InvariantCulture)} {workerArgs}",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            config[key] = value;
        }

        return RunningSystem.StartAsync(settings: config);
    }

    public static object Deployment(string name, int maxBatchSize, int minInstances, int maxInstances) => new
    {
        model_name = name,
        gpu = "A100-80GB",
        num_gpus = 1,
        max_batch_size = maxBatchSize,
        hf = new { repo = "deepdeploy/tiny-llama-gguf" },
        settings = new { min_instances = minInstances, max_instances = maxInstances },
    };

    /// <summary>Creates a deployment and waits until <paramref name="running"/> instances serve.</summary>
    public static async Task<string> DeployAsync(HttpClient client, string name, int maxBatchSize, int minInstances, int maxInstances, int running)
    {
        var created = await client.PostAsJsonAsync("/deploy/llm", Deployment(name, maxBatchSize, minInstances, maxInstances));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var deployId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deploy_id").GetString()!;
        await RunningSystem.WaitForAsync(client, deployId, d => d.GetProperty("status").GetString() == "running"
            && d.GetProperty("instances").GetProperty("running").GetInt32() == running, TimeSpan.FromSeconds(90));
        return deployId;
    }

    /// <summary>The gateway's lane of a model, once it lists <paramref name="instances"/> instances.</summary>
    public static async Task<DeploymentLane> LaneAsync(RunningSystem system, string model, int instances)
    {
        var table = system.Services.GetRequiredService<RouteTable>();
        return await Eventually.ValueAsync(() => Task.FromResult(table.Find(model) is { } lane && lane.Instances.Count == instances ? lane : null),
            TimeSpan.FromSeconds(10), $"the gateway lists {instances} instances of {model}");
    }

    public static object Chat(string model, int maxTokens, bool stream = false) => new
    {
        model,
        messages = new[] { new { role = "user", content = "Hello there" } },
        max_tokens = maxTokens,
        stream,
    };

    public static async Task<double> MetricAsync(string endpoint, string name)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(endpoint + "/metrics");
        return EngineCommand.ReadLoad(text, [name]) ?? throw new InvalidOperationException($"metric {name} not found in:\n{text}");
    }

    public static IReadOnlyList<EngineInstance> Instances(RunningSystem system, string deployId) =>
        system.Agent.Instances.Where(i => i.Launch.DeployId == deployId && i.Endpoint is not null).ToArray();

    /// <summary>Sends a streaming request and reads it to the end: the SSE data lines, or the failure.</summary>
    public static async Task<(bool Ok, List<string> Events, string? Error)> StreamAsync(HttpClient client, string path, object body, CancellationToken cancellationToken = default)
    {
        var events = new List<string>();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (false, events, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(line["data: ".Length..]);
                }
            }

            return (events.Count > 0 && events[^1] == "[DONE]", events, events.Count > 0 && events[^1] == "[DONE]" ? null : "stream ended without [DONE]");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return (false, events, e.GetType().Name + ": " + e.Message);
        }
    }
}
