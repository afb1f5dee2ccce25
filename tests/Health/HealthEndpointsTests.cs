using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Tests.Health;

/// <summary>The probes over HTTP: the all-in-one host (every check) and a gateway-role process joined to it.</summary>
[Collection(SystemCollection.Name)]
public sealed class HealthEndpointsTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_all_in_one_host_is_live_started_and_ready_with_every_check_listed_and_no_path_or_secret()
    {
        await using var system = await RunningSystem.StartAsync();
        using var http = system.Client(token: null);

        var live = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("healthy", (await live.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        foreach (var path in new[] { "/health/startup", "/health/ready" })
        {
            var body = await ReadyAsync(http, path);
            var checks = Checks(body);
            Assert.Equal(path == "/health/ready" ? ["cluster", "node", "routes", "storage"] : ["cluster", "node", "routes"], checks.Keys.Order());
            Assert.All(checks.Values, status => Assert.Equal("healthy", status));
        }

        var text = await http.GetStringAsync("/health/ready");
        Assert.DoesNotContain(system.DataDir, text);
        Assert.DoesNotContain(RunningSystem.AdminToken, text);

        // The old probe stays.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task A_gateway_role_process_is_ready_once_connected_and_its_routes_loaded()
    {
        var gatewayPort = Ports.Free();
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string> { ["DeepDeploy:GatewayPort"] = gatewayPort.ToString() });
        using var dataDir = TempDirectory.Create("deepdeploy-health-gw-");
        await using var gateway = DeepDeployHost.Build(["--urls", "http://127.0.0.1:0", "--role", "gateway"], builder =>
        {
            builder.Configuration["DEEPDEPLOY_DATA_DIR"] = dataDir.Path;
            builder.Configuration["DEEPDEPLOY_ADMIN_TOKEN"] = RunningSystem.AdminToken;
            builder.Configuration["DEEPDEPLOY_DATABASE"] = "";
            builder.Configuration["DeepDeploy:GatewayPort"] = gatewayPort.ToString();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await gateway.StartAsync();
        try
        {
            var address = gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = SystemHttp.Client(new Uri(address), null, TimeSpan.FromSeconds(30));

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
            var checks = Checks(await ReadyAsync(http, "/health/ready"));
            Assert.Equal(["cluster", "routes"], checks.Keys.Order());
            Assert.All(checks.Values, status => Assert.Equal("healthy", status));
        }
        finally
        {
            await gateway.StopAsync();
        }
    }

    /// <summary>Polls a probe until it answers 200; a 503 on the way must list the failing check.</summary>
    static Task<JsonElement> ReadyAsync(HttpClient http, string path) =>
        Eventually.MatchAsync(async () =>
        {
            using var response = await http.GetAsync(path);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{path}: {(int)response.StatusCode}");
            Assert.Equal(response.StatusCode == HttpStatusCode.OK, body.GetProperty("status").GetString() == "healthy");
            return body;
        }, body => body.GetProperty("status").GetString() == "healthy", Timeout, path + " healthy");

    static Dictionary<string, string> Checks(JsonElement body) =>
        body.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("status").GetString()!);
}
