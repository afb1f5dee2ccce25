using System.Reflection;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using YamlDotNet.RepresentationModel;

namespace DeepDeploy.Tests.Production;

/// <summary>
/// deploy/compose.yaml and deploy/k8s/*.yaml parse, and hold what production needs: the roles, PostgreSQL
/// settings, POD_NAME/POD_IP from the pod, /health/startup, /health/ready and /health/live probes, GPUs for the node DaemonSet, a Service and disruption
/// budgets; every DeepDeploy__* setting they use exists. (No container engine or cluster runs here.)
/// </summary>
[Trait("Category", "Unit")]
public sealed class DeployManifestTests
{
    static readonly string DeployDirectory = Path.Combine(RepositoryRoot(), "deploy");

    [Fact]
    public void Kubernetes_manifests_parse_and_describe_every_role()
    {
        var documents = Directory.GetFiles(Path.Combine(DeployDirectory, "k8s"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(Load).ToList();
        Assert.All(documents, d =>
        {
            Assert.False(string.IsNullOrEmpty(Scalar(d, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Scalar(d, "metadata", "name")));
            if (Scalar(d, "kind") != "Namespace")
            {
                Assert.Equal("deepdeploy", Scalar(d, "metadata", "namespace"));
            }
        });

        var byKind = documents.ToLookup(d => Scalar(d, "kind"));
        Assert.Single(byKind["Namespace"]);
        Assert.Single(byKind["ConfigMap"]);
        Assert.Single(byKind["Secret"]);
        Assert.Equal(["migrate"], Strings(Containers(Assert.Single(byKind["Job"])).Single(), "args"));

        var silo = Workload(byKind["Deployment"], "silo");
        var node = Assert.Single(byKind["DaemonSet"]);
        var gateway = Workload(byKind["Deployment"], "gateway");
        foreach (var (workload, role) in new[] { (silo, "silo"), (node, "node"), (gateway, "gateway") })
        {
            var container = Assert.Single(Containers(workload));
            Assert.Equal(["--role", role], Strings(container, "args"));
            Assert.Equal("/health/startup", Scalar(container, "startupProbe", "httpGet", "path"));
            Assert.Equal("/health/ready", Scalar(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal("/health/live", Scalar(container, "livenessProbe", "httpGet", "path"));
            Assert.Equal("metadata.name", FieldRef(container, "POD_NAME"));
            Assert.Equal("status.podIP", FieldRef(container, "POD_IP"));
            Assert.Contains("deepdeploy-secrets", Sequence(container, "envFrom").Select(e => Scalar(e, "secretRef", "name")));
            Assert.Null(Node(container, "resources", "limits", "cpu")); // no CPU limit for Orleans hosts

            // Selectors select the pod template.
            var labels = Mapping(workload, "spec", "template", "metadata", "labels");
            AssertSelects(Mapping(workload, "spec", "selector", "matchLabels"), labels);
            Assert.True(int.Parse(Scalar(workload, "spec", "template", "spec", "terminationGracePeriodSeconds")!) >= 30);
        }

        Assert.Equal("8", Scalar(Containers(node).Single(), "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("$(POD_IP)", EnvValue(Containers(node).Single(), "DeepDeploy__Node__WorkerHost"));
        Assert.Equal("spec.nodeName", FieldRef(Containers(node).Single(), "NODE_NAME"));
        Assert.Equal("2", Scalar(silo, "spec", "replicas"));

        var service = Assert.Single(byKind["Service"]);
        AssertSelects(Mapping(service, "spec", "selector"), Mapping(gateway, "spec", "template", "metadata", "labels"));
        var targetPort = Scalar(Sequence(service, "spec", "ports").Single(), "targetPort");
        Assert.Contains(targetPort, Sequence(Containers(gateway).Single(), "ports").Select(p => Scalar(p, "name")));

        var budgets = byKind["PodDisruptionBudget"].ToList();
        Assert.Equal(2, budgets.Count);
        AssertSelects(Mapping(budgets.Single(b => Scalar(b, "metadata", "name") == "deepdeploy-silo"), "spec", "selector", "matchLabels"),
            Mapping(silo, "spec", "template", "metadata", "labels"));

        AssertSettingsExist(documents);
    }

    [Fact]
    public void Compose_file_parses_and_runs_postgres_two_silos_a_gpu_node_and_a_gateway()
    {
        var compose = Assert.Single(Load(Path.Combine(DeployDirectory, "compose.yaml")));
        var services = Mapping(compose, "services")!;
        Assert.Equal(["gateway", "gpu-node", "migrate", "postgres", "silo-1", "silo-2"],
            services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Order(StringComparer.Ordinal));

        Assert.StartsWith("postgres:", Scalar(services, "postgres", "image"));
        Assert.Equal(["migrate"], Strings(services, "migrate", "command"));
        foreach (var (service, role) in new[] { ("silo-1", "silo"), ("silo-2", "silo"), ("gpu-node", "node"), ("gateway", "gateway") })
        {
            Assert.Equal(["--role", role], Strings(services, service, "command"));
            Assert.StartsWith("Host=postgres;", Scalar(services, service, "environment", "DEEPDEPLOY_DATABASE"));
            Assert.False(string.IsNullOrEmpty(Scalar(services, service, "environment", "DEEPDEPLOY_ADMIN_TOKEN")));
            Assert.False(string.IsNullOrEmpty(Scalar(services, service, "environment", "HF_ENDPOINT")));
            Assert.Equal("deploy/Dockerfile", Scalar(services, service, "build", "dockerfile"));
            Assert.Equal("service_completed_successfully", Scalar(services, service, "depends_on", "migrate", "condition"));
        }

        Assert.Equal("nvidia", Scalar(Sequence(services, "gpu-node", "deploy", "resources", "reservations", "devices").Single(), "driver"));
        Assert.Equal(Scalar(services, "gpu-node", "networks", "deepdeploy", "ipv4_address"), Scalar(services, "gpu-node", "environment", "DeepDeploy__Node__WorkerHost"));
        Assert.Equal(["8080:8080"], Strings(services, "gateway", "ports"));
        AssertSettingsExist([compose]);

        var dockerfile = File.ReadAllText(Path.Combine(DeployDirectory, "Dockerfile"));
        Assert.Contains("silo/DeepDeploy.Silo.csproj", dockerfile);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"DeepDeploy.Silo.dll\"]", dockerfile);
    }

    /// <summary>Every DeepDeploy__A__B environment variable names a real setting (a typo would be silently ignored).</summary>
    static void AssertSettingsExist(IEnumerable<YamlNode> documents)
    {
        var names = documents.SelectMany(AllScalars).Where(s => s.StartsWith("DeepDeploy__", StringComparison.Ordinal)).Distinct().ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var path = name.Split("__")[1..];
            var type = typeof(DeepDeployOptions);
            if (path is ["Node", ..])
            {
                (type, path) = (typeof(NodeOptions), path[1..]);
            }

            Assert.True(path.Length == 1 && type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance) is { CanWrite: true },
                $"{name} is not a DeepDeploy setting");
        }
    }

    static IEnumerable<string> AllScalars(YamlNode node) => node switch
    {
        YamlScalarNode s => [s.Value ?? ""],
        YamlMappingNode m => m.Children.SelectMany(c => AllScalars(c.Key).Concat(AllScalars(c.Value))),
        YamlSequenceNode q => q.Children.SelectMany(AllScalars),
        _ => [],
    };

    static void AssertSelects(YamlMappingNode? selector, YamlMappingNode? labels)
    {
        Assert.NotNull(selector);
        Assert.NotNull(labels);
        foreach (var (key, value) in selector.Children)
        {
            Assert.Equal(((YamlScalarNode)value).Value, Scalar(labels, ((YamlScalarNode)key).Value!));
        }
    }

    static YamlNode Workload(IEnumerable<YamlNode> deployments, string component) =>
        deployments.Single(d => Scalar(d, "metadata", "labels", "app.kubernetes.io/component") == component);

    static IEnumerable<YamlNode> Containers(YamlNode workload) => Sequence(workload, "spec", "template", "spec", "containers");

    static YamlNode? EnvEntry(YamlNode container, string name) => Sequence(container, "env").SingleOrDefault(e => Scalar(e, "name") == name);

    static string? FieldRef(YamlNode container, string name) => EnvEntry(container, name) is { } e ? Scalar(e, "valueFrom", "fieldRef", "fieldPath") : null;

    static string? EnvValue(YamlNode container, string name) => EnvEntry(container, name) is { } e ? Scalar(e, "value") : null;

    static List<YamlNode> Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).ToList();
    }

    /// <summary>A child by key, following YAML merge keys (&lt;&lt;: *anchor) as compose files use them.</summary>
    static YamlNode? Child(YamlNode? node, string key)
    {
        if (node is not YamlMappingNode mapping)
        {
            return null;
        }

        if (mapping.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            return value;
        }

        return mapping.Children.TryGetValue(new YamlScalarNode("<<"), out var merged) ? Child(merged, key) : null;
    }

    static YamlNode? Node(YamlNode? node, params string[] path) => path.Aggregate(node, Child);

    static string? Scalar(YamlNode? node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    static YamlMappingNode? Mapping(YamlNode? node, params string[] path) => Node(node, path) as YamlMappingNode;

    static IEnumerable<YamlNode> Sequence(YamlNode? node, params string[] path) =>
        (Node(node, path) as YamlSequenceNode)?.Children ?? (IEnumerable<YamlNode>)[];

    static string[] Strings(YamlNode? node, params string[] path) => Sequence(node, path).Select(n => ((YamlScalarNode)n).Value!).ToArray();

    static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.DeepDeploy.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Orleans.DeepDeploy.sln not found above {AppContext.BaseDirectory}");
    }
}
