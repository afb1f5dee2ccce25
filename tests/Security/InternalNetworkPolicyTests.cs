using System.Globalization;
using DeepDeploy.Node;
using YamlDotNet.RepresentationModel;

namespace DeepDeploy.Tests.Security;

/// <summary>
/// deploy/k8s's NetworkPolicies, evaluated with Kubernetes' rules (a pod selected by any policy takes only what one
/// of their ingress rules allows) against the pod labels of the manifests' own workloads: only gateways reach
/// engines, only cluster roles reach silo ports, PostgreSQL only from the roles that use it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class InternalNetworkPolicyTests
{
    static readonly List<YamlNode> Documents = Directory
        .GetFiles(Path.Combine(RepositoryRoot(), "deploy", "k8s"), "*.yaml").Order(StringComparer.Ordinal).SelectMany(Load).ToList();

    static readonly List<YamlNode> Policies = Documents.Where(d => Scalar(d, "kind") == "NetworkPolicy").ToList();

    /// <summary>Pod labels by role, from the workloads' templates; "outside" is anything not in the namespace.</summary>
    static Dictionary<string, string>? Pod(string role) => role switch
    {
        "outside" => null,
        "postgresql" => new() { ["app.kubernetes.io/name"] = "postgresql" },
        "other" => new() { ["app"] = "something-else" },
        _ => Labels(Documents.Single(d => Scalar(d, "kind") is "Deployment" or "DaemonSet" or "Job"
            && Scalar(d, "spec", "template", "metadata", "labels", "app.kubernetes.io/component") == role)),
    };

    [Theory]
    // The public API.
    [InlineData("gateway", "outside", 8080, true)]
    [InlineData("gateway", "gpu-node", 30000, false)]
    // Silo ports: cluster roles only; the gateway (an Orleans client) only on the client port.
    [InlineData("silo", "silo", 11111, true)]
    [InlineData("silo", "gpu-node", 11111, true)]
    [InlineData("silo", "gpu-node", 30000, true)]
    [InlineData("silo", "gateway", 30000, true)]
    [InlineData("silo", "gateway", 11111, false)]
    [InlineData("silo", "outside", 30000, false)]
    [InlineData("silo", "outside", 11111, false)]
    [InlineData("silo", "outside", 8080, false)]
    [InlineData("silo", "migrate", 30000, false)]
    [InlineData("gpu-node", "silo", 11111, true)]
    [InlineData("gpu-node", "gateway", 30000, true)]
    [InlineData("gpu-node", "outside", 11111, false)]
    [InlineData("gpu-node", "outside", 30000, false)]
    // Engines: gateways only (external engines 32000-32767, the built-in worker's ephemeral port up to 60999).
    [InlineData("gpu-node", "gateway", 32000, true)]
    [InlineData("gpu-node", "gateway", 32767, true)]
    [InlineData("gpu-node", "gateway", 45000, true)]
    [InlineData("gpu-node", "gateway", 60999, true)]
    [InlineData("gpu-node", "gateway", 31999, false)]
    [InlineData("gpu-node", "gateway", 61000, false)]
    [InlineData("gpu-node", "gateway", 8080, false)]
    [InlineData("gpu-node", "gpu-node", 45000, false)]
    [InlineData("gpu-node", "silo", 32000, false)]
    [InlineData("gpu-node", "migrate", 45000, false)]
    [InlineData("gpu-node", "outside", 45000, false)]
    [InlineData("gpu-node", "other", 45000, false)]
    // PostgreSQL in the namespace: the roles that use it.
    [InlineData("postgresql", "silo", 5432, true)]
    [InlineData("postgresql", "gpu-node", 5432, true)]
    [InlineData("postgresql", "gateway", 5432, true)]
    [InlineData("postgresql", "migrate", 5432, true)]
    [InlineData("postgresql", "outside", 5432, false)]
    [InlineData("postgresql", "other", 5432, false)]
    // Anything else in the namespace is closed.
    [InlineData("other", "gateway", 80, false)]
    [InlineData("migrate", "outside", 8080, false)]
    public void Only_the_roles_that_must_talk_can(string target, string source, int port, bool allowed) =>
        Assert.Equal(allowed, Allowed(Pod(target)!, Pod(source), port));

    [Fact]
    public void The_engine_range_covers_the_nodes_engine_ports()
    {
        var options = new NodeOptions();
        foreach (var port in new[] { options.EnginePortFirst, options.EnginePortLast, options.EnginePortLast + 1 })
        {
            Assert.True(Allowed(Pod("gpu-node")!, Pod("gateway"), port), $"gateways cannot reach engine port {port}");
        }
    }

    static bool Allowed(Dictionary<string, string> target, Dictionary<string, string>? source, int port)
    {
        var selecting = Policies.Where(p => Selects(Node(p, "spec", "podSelector"), target)).ToList();
        Assert.All(selecting, p => Assert.Contains("Ingress", Sequence(p, "spec", "policyTypes").Select(n => ((YamlScalarNode)n).Value)));
        return selecting.Count == 0
            || selecting.Any(p => Sequence(p, "spec", "ingress").Any(rule => FromMatches(rule, source) && PortMatches(rule, port)));
    }

    static bool FromMatches(YamlNode rule, Dictionary<string, string>? source)
    {
        var from = Sequence(rule, "from").ToList();
        return from.Count == 0 || from.Any(peer =>
            // Peers this evaluator does not model count as allowing everyone: a permissive policy fails the test.
            Node(peer, "ipBlock") is not null || Node(peer, "namespaceSelector") is not null
            || (source is not null && Selects(Node(peer, "podSelector"), source)));
    }

    static bool PortMatches(YamlNode rule, int port)
    {
        var ports = Sequence(rule, "ports").ToList();
        return ports.Count == 0 || ports.Any(p =>
        {
            var first = int.Parse(Scalar(p, "port")!, CultureInfo.InvariantCulture);
            var last = Scalar(p, "endPort") is { } end ? int.Parse(end, CultureInfo.InvariantCulture) : first;
            return Scalar(p, "protocol") is null or "TCP" && port >= first && port <= last;
        });
    }

    static bool Selects(YamlNode? selector, Dictionary<string, string> labels)
    {
        Assert.NotNull(selector);
        var matchLabels = Labels(selector, "matchLabels");
        var expressions = Sequence(selector, "matchExpressions").ToList();
        Assert.All(expressions, e => Assert.Equal("In", Scalar(e, "operator")));
        return matchLabels.All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value)
            && expressions.All(e => labels.TryGetValue(Scalar(e, "key")!, out var v) && Sequence(e, "values").Any(x => ((YamlScalarNode)x).Value == v));
    }

    static Dictionary<string, string> Labels(YamlNode workload) => Labels(workload, "spec", "template", "metadata", "labels");

    static Dictionary<string, string> Labels(YamlNode? node, params string[] path) =>
        (Node(node, path) as YamlMappingNode)?.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value!)
        ?? [];

    static List<YamlNode> Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).ToList();
    }

    static YamlNode? Node(YamlNode? node, params string[] path) => path.Aggregate(node,
        (n, key) => n is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null);

    static string? Scalar(YamlNode? node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    static IEnumerable<YamlNode> Sequence(YamlNode? node, params string[] path) =>
        (Node(node, path) as YamlSequenceNode)?.Children ?? (IEnumerable<YamlNode>)[];

    static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.DeepDeploy.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }
}
