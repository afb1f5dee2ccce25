using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using DeepDeploy.Tests.Telemetry;

namespace DeepDeploy.Tests.Gateway;

/// <summary>The gateway's own time per stage at /metrics, and the per-request routing header, over the real system
/// with fake-engine workers (test double).</summary>
[Collection(SystemCollection.Name)]
public sealed class GatewayStageTests
{
    const int Requests = 12;

    static readonly string[] Stages =
        [GatewayStage.Authentication, GatewayStage.BodyRead, GatewayStage.Routing, GatewayStage.Admission, GatewayStage.Forward, GatewayStage.ResponseCopy];

    [Fact]
    public async Task Stage_durations_are_exported_and_add_up_to_the_requests_time_and_the_routing_header_is_checked()
    {
        await using var system = await GatewaySystem.StartAsync(tokenRate: 200);
        var token = await system.CreateUserAsync("stages");
        using var user = system.Client(token);
        await GatewaySystem.DeployAsync(user, "timed", maxBatchSize: 2, minInstances: 2, maxInstances: 2, running: 2);
        await GatewaySystem.LaneAsync(system, "stages/timed", 2);
        using var operatorClient = system.Client(RunningSystem.AdminToken);

        // An unknown policy: 400 naming the header and the allowed values, without echoing what was sent.
        using (var bad = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = JsonContent.Create(GatewaySystem.Chat("stages/timed", 4)) })
        {
            bad.Headers.Add(RoutingPolicies.Header, "fastest-<b>");
            using var refused = await user.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var text = await refused.Content.ReadAsStringAsync();
            Assert.DoesNotContain("fastest", text);
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal(RoutingPolicies.Header, error.GetProperty("field").GetString());
            Assert.Contains("least-loaded, round-robin, random", error.GetProperty("message").GetString());
        }

        // Twice the slots at once (some wait in the queue), every policy, streamed and not.
        var policies = new[] { null, "least-loaded", "round-robin", "random", "prefix" };
        var results = await Task.WhenAll(Enumerable.Range(0, Requests).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
            {
                Content = JsonContent.Create(GatewaySystem.Chat("stages/timed", 10, stream: i % 2 == 0)),
            };
            if (policies[i % policies.Length] is { } policy)
            {
                request.Headers.Add(RoutingPolicies.Header, policy);
            }

            using var response = await user.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }));
        Assert.All(results, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Item2));

        var ok = ("http_response_status_code", "200");
        var route = ("http_route", "/v1/openai/chat/completions");
        var metrics = await Eventually.ValueAsync(async () =>
            await operatorClient.GetStringAsync("/metrics") is var t
                && PrometheusText.Sum(t, "deepdeploy_gateway_stage_duration_seconds_count", ("stage", GatewayStage.ResponseCopy)) == Requests
                && PrometheusText.Sum(t, "http_server_request_duration_seconds_count", route, ok) == Requests ? t : null,
            TimeSpan.FromSeconds(10), "every request's stages and its duration at /metrics");

        foreach (var stage in Stages)
        {
            // The refused request passed authentication only.
            var expected = stage == GatewayStage.Authentication ? Requests + 1 : Requests;
            Assert.Equal(expected, PrometheusText.Sum(metrics, "deepdeploy_gateway_stage_duration_seconds_count", ("stage", stage)));
        }

        var stages = PrometheusText.Sum(metrics, "deepdeploy_gateway_stage_duration_seconds_sum")!.Value;
        var total = PrometheusText.Sum(metrics, "http_server_request_duration_seconds_sum", route)!.Value;
        var admission = PrometheusText.Sum(metrics, "deepdeploy_gateway_stage_duration_seconds_sum", ("stage", GatewayStage.Admission))!.Value;
        Assert.True(admission > 0, "requests beyond the slots waited in the queue");
        Assert.InRange(stages / total, 0.8, 1.0);
    }
}
