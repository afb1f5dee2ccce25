using System.Text.Json;
using System.Text.RegularExpressions;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>deploy/grafana/deepdeploy.json queries only series of the metric naming contract (docs/observability.md),
/// under the names the OpenTelemetry Prometheus exporter gives them, so that a renamed instrument or a typo on the
/// board fails here instead of leaving an empty panel.</summary>
[Trait("Category", "Unit")]
public sealed partial class ControlPlaneDashboardTests
{
    /// <summary>The contract's instruments: name, kind (counter, histogram, gauge), unit; then the frameworks' own that the board uses.</summary>
    static readonly (string Name, string Kind, string Unit)[] Contract =
    [
        ("gen_ai.server.request.duration", "histogram", "s"),
        ("gen_ai.server.time_to_first_token", "histogram", "s"),
        ("gen_ai.server.time_per_output_token", "histogram", "s"),
        ("gen_ai.client.token.usage", "histogram", "{token}"),
        ("deepdeploy.gateway.requests", "counter", "{request}"),
        ("deepdeploy.gateway.refusals", "counter", "{request}"),
        ("deepdeploy.gateway.failovers", "counter", "{request}"),
        ("deepdeploy.gateway.queue.size", "gauge", "{request}"),
        ("deepdeploy.gateway.queue.wait", "histogram", "s"),
        ("deepdeploy.gateway.instance.in_flight", "gauge", "{request}"),
        ("deepdeploy.gateway.instance.capacity", "gauge", "{request}"),
        ("deepdeploy.instances", "gauge", "{instance}"),
        ("deepdeploy.gpus", "gauge", "{gpu}"),
        ("deepdeploy.autoscaler.decisions", "counter", "{decision}"),
        ("deepdeploy.billing.gpu_time", "counter", "s"),
        ("deepdeploy.billing.spend", "counter", "USD"),
        ("deepdeploy.weights.download.size", "counter", "By"),
        ("deepdeploy.weights.cache.requests", "counter", "{request}"),
        ("deepdeploy.engine.restarts", "counter", "{restart}"),
        ("http.server.request.duration", "histogram", "s"),
        ("orleans-catalog-activations", "gauge", "{activation}"),
        ("orleans-messaging-processing-ima-received", "counter", "{message}"),
        ("orleans-app-requests-latency", "histogram", "ms"),
    ];

    /// <summary>The contract's attribute keys as Prometheus labels, and those Prometheus and the exporter add.</summary>
    static readonly HashSet<string> Labels =
    [
        "gen_ai_operation_name", "gen_ai_request_model", "gen_ai_token_type", "deepdeploy_outcome", "deepdeploy_reason",
        "deepdeploy_deployment_id", "deepdeploy_instance_id", "deepdeploy_instance_status", "deepdeploy_node", "deepdeploy_gpu_type",
        "deepdeploy_gpu_state", "deepdeploy_user", "deepdeploy_cache_result", "deepdeploy_scale_from", "deepdeploy_scale_to", "error_type",
        "http_response_status_code", "le", "instance", "job", "otel_scope_name",
    ];

    static readonly string[] PromQlFunctions = ["sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "label_values"];

    [Fact]
    public void Every_query_names_a_contract_metric_and_contract_labels()
    {
        var series = Contract.SelectMany(PrometheusNames).ToHashSet(StringComparer.Ordinal);
        var expressions = Expressions().ToList();
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} queries on the board");
        foreach (var expression in expressions)
        {
            var metrics = MetricNames(expression).ToList();
            Assert.True(metrics.Count > 0, $"no metric in: {expression}");
            Assert.All(metrics, m => Assert.True(series.Contains(m), $"'{m}' is not a series of the naming contract, in: {expression}"));
            Assert.All(LabelNames(expression), l => Assert.True(Labels.Contains(l), $"label '{l}' is not a contract attribute, in: {expression}"));
        }
    }

    [Fact]
    public void The_board_shows_every_control_plane_and_node_metric()
    {
        var used = Expressions().SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);
        foreach (var instrument in Contract.Where(c => !c.Name.StartsWith("orleans", StringComparison.Ordinal)))
        {
            Assert.True(PrometheusNames(instrument).Any(used.Contains), $"no panel shows {instrument.Name}");
        }
    }

    [Theory]
    [InlineData("deepdeploy.billing.spend", "counter", "USD", "deepdeploy_billing_spend_USD_total")]
    [InlineData("deepdeploy.weights.download.size", "counter", "By", "deepdeploy_weights_download_size_bytes_total")]
    [InlineData("deepdeploy.instances", "gauge", "{instance}", "deepdeploy_instances")]
    [InlineData("gen_ai.server.time_to_first_token", "histogram", "s", "gen_ai_server_time_to_first_token_seconds_bucket")]
    public void Names_follow_the_exporter(string name, string kind, string unit, string expected) =>
        Assert.Contains(expected, PrometheusNames((name, kind, unit)));

    /// <summary>As OpenTelemetry's Prometheus exporter writes them: dots and dashes to underscores, the unit appended
    /// (annotations in braces dropped), <c>_total</c> on counters, <c>_bucket/_sum/_count</c> on histograms.</summary>
    static IEnumerable<string> PrometheusNames((string Name, string Kind, string Unit) instrument)
    {
        var unit = instrument.Unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            var u when u.StartsWith('{') => "",
            var u => u,
        };
        var name = instrument.Name.Replace('.', '_').Replace('-', '_') + (unit.Length > 0 ? "_" + unit : "");
        return instrument.Kind switch
        {
            "counter" => [name + "_total"],
            "histogram" => [name + "_bucket", name + "_sum", name + "_count"],
            _ => [name],
        };
    }

    static IEnumerable<string> Expressions()
    {
        var path = Path.Combine(RepositoryRoot(), "deploy", "grafana", "deepdeploy.json");
        using var board = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var panel in board.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    yield return target.GetProperty("expr").GetString()!;
                }
            }
        }

        foreach (var variable in board.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.TryGetProperty("definition", out var definition))
            {
                yield return definition.GetString()!;
            }
        }
    }

    /// <summary>Identifiers outside label matchers, grouping clauses and ranges that are not functions.</summary>
    static IEnumerable<string> MetricNames(string expression)
    {
        var bare = Grouping().Replace(Matchers().Replace(Ranges().Replace(LabelValues().Replace(expression, "$1"), ""), ""), "");
        return Identifiers().Matches(bare).Select(m => m.Groups[1].Value).Where(name => !PromQlFunctions.Contains(name));
    }

    static IEnumerable<string> LabelNames(string expression) =>
        Matchers().Matches(expression).SelectMany(m => MatcherLabel().Matches(m.Value).Select(l => l.Groups[1].Value))
            .Concat(Grouping().Matches(expression).SelectMany(m => Identifiers().Matches(m.Groups[1].Value).Select(l => l.Groups[1].Value)))
            .Concat(LabelValues().Matches(expression).Select(m => m.Groups[2].Value));

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\b(?:by|without)\s*\(([^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w$.])([a-zA-Z_][a-zA-Z0-9_]*)\b")]
    private static partial Regex Identifiers();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")]
    private static partial Regex MatcherLabel();

    [GeneratedRegex(@"label_values\(([^,]*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)")]
    private static partial Regex LabelValues();

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
