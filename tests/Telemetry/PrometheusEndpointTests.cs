using System.Net;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Gateway;
using DeepDeploy.Tests.Support;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>/metrics of the all-in-one host after real traffic through the gateway to real worker processes.</summary>
[Collection(SystemCollection.Name)]
public sealed class PrometheusEndpointTests
{
    const int MaxBatchSize = 2;
    const int Streamed = 6;
    const int Plain = 6;

    [Fact]
    public async Task Metrics_count_every_request_never_show_more_in_flight_than_max_batch_size_and_are_operator_only()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 100);
        var token = await system.CreateUserAsync("prom");
        using var user = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(user, "scraped", MaxBatchSize, minInstances: 1, maxInstances: 1, running: 1);
        using var operatorClient = system.Client(RunningSystem.AdminToken);
        using var anonymous = system.Client(null);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/metrics")).StatusCode);

        // Twice max_batch_size and more at once: the rest wait in the gateway's queue.
        var requests = Enumerable.Range(0, Streamed).Select(_ => GatewaySystem.StreamAsync(user, "/v1/openai/chat/completions", GatewaySystem.Chat("prom/scraped", 20, stream: true)))
            .Concat(Enumerable.Range(0, Plain).Select(async _ =>
            {
                using var response = await user.PostAsync("/v1/openai/chat/completions", System.Net.Http.Json.JsonContent.Create(GatewaySystem.Chat("prom/scraped", 20)));
                return (response.StatusCode == HttpStatusCode.OK, new List<string>(), (string?)await response.Content.ReadAsStringAsync());
            }))
            .ToArray();
        var all = Task.WhenAll(requests);
        var inFlight = new List<double>();
        var capacity = new List<double>();
        while (!all.IsCompleted)
        {
            var during = await operatorClient.GetStringAsync("/metrics");
            inFlight.AddRange(PrometheusText.Samples(during, "deepdeploy_gateway_instance_in_flight"));
            capacity.AddRange(PrometheusText.Samples(during, "deepdeploy_gateway_instance_capacity"));
        }

        Assert.All(await all, r => Assert.True(r.Item1, r.Item3));
        Assert.NotEmpty(inFlight);
        Assert.All(inFlight, v => Assert.InRange(v, 0, MaxBatchSize));
        Assert.Contains(inFlight, v => v > 0);
        Assert.All(capacity, v => Assert.Equal(MaxBatchSize, v));
        var worker = GatewaySystem.Instances(system, deployId).Single().Endpoint!;
        Assert.InRange(await GatewaySystem.MetricAsync(worker, Metrics.RequestsInFlightPeak), 1, MaxBatchSize);

        const int total = Streamed + Plain;
        var model = ("gen_ai_request_model", "prom/scraped");
        var text = await Eventually.ValueAsync(async () =>
            await operatorClient.GetStringAsync("/metrics") is var t
                && PrometheusText.Sum(t, "gen_ai_server_request_duration_seconds_count", model) == total ? t : null,
            TimeSpan.FromSeconds(10), "the duration of every request");
        Assert.Equal(total, PrometheusText.Sum(text, "deepdeploy_gateway_requests_total", model, ("deepdeploy_outcome", "ok")));
        Assert.Null(PrometheusText.Sum(text, "deepdeploy_gateway_refusals_total", model));
        Assert.Equal(total, PrometheusText.Sum(text, "deepdeploy_gateway_queue_wait_seconds_count", model));
        Assert.Equal(total, PrometheusText.Sum(text, "gen_ai_client_token_usage_count", model, ("gen_ai_token_type", "output")));
        Assert.Equal(total * 20, PrometheusText.Sum(text, "gen_ai_client_token_usage_sum", model, ("gen_ai_token_type", "output")));
        Assert.Equal(Streamed, PrometheusText.Sum(text, "gen_ai_server_time_to_first_token_seconds_count", model, ("gen_ai_operation_name", "chat")));
        Assert.Equal(Streamed, PrometheusText.Sum(text, "gen_ai_server_time_per_output_token_seconds_count", model));
        Assert.Equal(0, PrometheusText.Sum(text, "deepdeploy_gateway_queue_size", model));
        Assert.NotNull(PrometheusText.Sum(text, "http_server_request_duration_seconds_count"));
    }
}
