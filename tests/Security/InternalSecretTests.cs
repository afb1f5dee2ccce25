using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Security;

/// <summary>The node's side of the instance secret: how it is made, handed to engines, and kept out of logs.</summary>
[Trait("Category", "Unit")]
public sealed class InternalSecretTests
{
    static readonly InstanceLaunch Launch = new("d-1", "d", "ivy/llama", "H100-80GB", 1, 8, "acme/m", new string('c', 40), "m.gguf", null, []);

    [Fact]
    public void Each_instance_gets_its_own_256_bit_secret()
    {
        var secrets = Enumerable.Range(0, 50).Select(_ => new EngineInstance(Launch, [0]).Secret).ToList();
        Assert.All(secrets, s => Assert.Matches("^[0-9a-f]{64}$", s));
        Assert.Equal(secrets.Count, secrets.Distinct(StringComparer.Ordinal).Count());
        Assert.True(secrets[0].Length >= Protocol.Args.ApiKeyMinLength);
    }

    [Fact]
    public void The_worker_and_profile_engines_get_the_secret_as_their_api_key()
    {
        var instance = new EngineInstance(Launch, [0]);
        var worker = EngineStart.ForWorker(new NodeOptions(), instance, "/cache/m.gguf", "/run/engines/i-1");
        var at = worker.Arguments.ToList().IndexOf(Protocol.Args.ApiKey);
        Assert.True(at > 0, "the built-in worker gets no --api-key");
        Assert.Equal(instance.Secret, worker.Arguments[at + 1]);
        Assert.DoesNotContain(worker.Environment.Values, v => v.Contains(instance.Secret, StringComparison.Ordinal));

        var profile = new EngineProfile { Command = "vllm", Args = "serve {model_path} --port {port} --api-key {api_key}" };
        var vllm = EngineStart.ForProfile(new NodeOptions(), instance, profile, "/cache/snap", 8123, "/run/engines/i-1");
        Assert.Equal(["serve", "/cache/snap", "--port", "8123", "--api-key", instance.Secret], vllm.Arguments);
    }

    [Fact]
    public void The_output_shown_by_logs_masks_the_secret()
    {
        var instance = new EngineInstance(Launch, [0]);
        instance.Output.Add($"[node] builtin: dotnet w.dll {Protocol.Args.ApiKey} {instance.Secret} --port 0");
        instance.Output.Add($"INFO non-default args: {{'api_key': '{instance.Secret}'}}");
        var shown = instance.Output.Last(10);
        Assert.DoesNotContain(instance.Secret, shown);
        Assert.Contains($"{Protocol.Args.ApiKey} {OutputTail.Masked} --port 0", shown);
    }

    [Fact]
    public void Messages_that_carry_the_secret_do_not_print_it()
    {
        const string secret = "s3cr3t0123456789abcdef0123456789";
        var route = new RouteInstance("d-1", "http://10.0.0.7:8123", secret);
        var update = new InstanceUpdate("d-1", InstancePhase.Running, "http://10.0.0.7:8123", null, null, secret);
        var deployment = new DeploymentRoute("d", "ivy/llama", DeploymentStatus.Running, 8, 1, [route]);
        foreach (var text in new[] { route.ToString(), update.ToString(), deployment.ToString() })
        {
            Assert.DoesNotContain(secret, text);
        }

        Assert.Contains("http://10.0.0.7:8123", route.ToString());
        Assert.NotEqual(route, route with { Secret = "other" });
    }
}
