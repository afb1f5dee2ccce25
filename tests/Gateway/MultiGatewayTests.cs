using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using DeepDeploy.Gateway;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Two gateways on one cluster: the all-in-one host's and a second one that is an Orleans client, as in
/// production. They split each instance's slots, so that together they never exceed max_batch_size.</summary>
[Collection(SystemCollection.Name)]
public sealed class MultiGatewayTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_gateways_split_each_instances_slots_and_together_never_exceed_max_batch_size()
    {
        var clusterGateway = Ports.Free();
        await using var system = await GatewaySystem.StartAsync(tokenRate: 100, new Dictionary<string, string>
        {
            ["DeepDeploy:GatewayPort"] = clusterGateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var token = await system.CreateUserAsync("alice");
        using var first = system.Client(token);
        var deployId = await GatewaySystem.DeployAsync(first, "shared", maxBatchSize: 4, minInstances: 1, maxInstances: 1, running: 1);

        await using var second = await StartClientGatewayAsync(clusterGateway);
        using var secondClient = new HttpClient { BaseAddress = second.Address, Timeout = TimeSpan.FromMinutes(2) };
        secondClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // Both gateways learn of each other through the route directory and take 2 of the 4 slots each.
        var lanes = new[] { system.Services.GetRequiredService<RouteTable>(), second.Services.GetRequiredService<RouteTable>() };
        await Eventually.TrueAsync(() => lanes.All(t => t.Gateways.Count == 2 && t.Find("alice/shared") is { } l && l.Instances.Count == 1 && l.Instances[0].Capacity == 2), TimeSpan.FromSeconds(10));

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var client = i % 2 == 0 ? first : secondClient;
            using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat("alice/shared", 10));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK, r.Body));

        var endpoint = Assert.Single(GatewaySystem.Instances(system, deployId)).Endpoint!;
        var inFlightPeak = await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_in_flight_peak");
        var refused = await GatewaySystem.MetricAsync(endpoint, "deepdeploy_worker_requests_refused_total");
        output.WriteLine($"two gateways, 100 requests: worker in_flight_peak {inFlightPeak}, refused {refused}");
        Assert.Equal(4, inFlightPeak);
        Assert.Equal(0, refused);

        // The second gateway stops (and unsubscribes): the first takes all 4 slots back at once.
        await second.DisposeAsync();
        await Eventually.TrueAsync(() => lanes[0].Gateways.Count == 1 && lanes[0].Find("alice/shared")!.Instances[0].Capacity == 4, TimeSpan.FromSeconds(10));
    }

    static async Task<ClientGateway> StartClientGatewayAsync(int clusterGateway)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(clusterGateway, serviceId: "deepdeploy", clusterId: "deepdeploy"));
        builder.Services.AddDataProtection();
        builder.Services.AddDeepDeployGateway(o => o.AdminToken = RunningSystem.AdminToken);
        var app = builder.Build();
        app.UseDeepDeployGateway();
        await app.StartAsync();
        var address = app.Urls.First();
        return new ClientGateway(app, new Uri(address));
    }

    sealed class ClientGateway(WebApplication app, Uri address) : IAsyncDisposable
    {
        bool _disposed;

        public Uri Address { get; } = address;

        public IServiceProvider Services => app.Services;

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
