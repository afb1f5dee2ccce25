using System.Text.Json;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Tests.EndToEnd;

/// <summary>The real all-in-one system (silo, gateway, local hub, GPU node with real worker processes) on
/// loopback ports. Its data directory is its own (deleted on dispose) unless the test hands one in, which a restart test
/// does to start a second system over the first one's data; that test then owns and deletes it.</summary>
public sealed class RunningSystem : IAsyncDisposable
{
    public const string AdminToken = SystemHttp.AdminToken;

    readonly WebApplication _app;
    readonly TempDirectory? _ownDataDir;

    RunningSystem(WebApplication app, string dataDir, TempDirectory? ownDataDir, Uri baseAddress)
    {
        _app = app;
        DataDir = dataDir;
        _ownDataDir = ownDataDir;
        BaseAddress = baseAddress;
    }

    public string DataDir { get; }

    public Uri BaseAddress { get; }

    public NodeAgent Agent => _app.Services.GetRequiredService<NodeAgent>();

    public IServiceProvider Services => _app.Services;

    /// <param name="dataDir">A data directory the caller owns (kept on dispose); a new one of the system's own when null.</param>
    /// <param name="settings">Extra configuration (e.g. DeepDeploy:Node:WorkerArgs, DeepDeploy:Inference:*).</param>
    /// <param name="configure">Last say on the host's builder (e.g. an in-memory trace exporter).</param>
    public static async Task<RunningSystem> StartAsync(string? dataDir = null, IReadOnlyDictionary<string, string>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var ownDataDir = dataDir is null ? TempDirectory.Create("deepdeploy-e2e-") : null;
        dataDir ??= ownDataDir!.Path;
        try
        {
            return await StartAsync(dataDir, ownDataDir, settings, configure);
        }
        catch
        {
            ownDataDir?.Dispose();
            throw;
        }
    }

    static async Task<RunningSystem> StartAsync(string dataDir, TempDirectory? ownDataDir, IReadOnlyDictionary<string, string>? settings,
        Action<WebApplicationBuilder>? configure)
    {
        var app = DeepDeployHost.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration["DEEPDEPLOY_DATA_DIR"] = dataDir;
            builder.Configuration["DEEPDEPLOY_ADMIN_TOKEN"] = AdminToken;
            builder.Configuration["DeepDeploy:SiloPort"] = Ports.Free().ToString();
            builder.Configuration["DeepDeploy:GatewayPort"] = Ports.Free().ToString();
            builder.Configuration["DeepDeploy:Node:Name"] = "test-node";
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                builder.Configuration[key] = value;
            }

            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningSystem(app, dataDir, ownDataDir, new Uri(address));
    }

    public HttpClient Client(string? token) => SystemHttp.Client(BaseAddress, token, TimeSpan.FromMinutes(2));

    public async Task<string> CreateUserAsync(string name)
    {
        using var admin = Client(AdminToken);
        return await SystemHttp.CreateUserAsync(admin, name);
    }

    /// <summary>Polls a deployment until <paramref name="done"/> holds, and returns its last deploy object.</summary>
    public static Task<JsonElement> WaitForAsync(HttpClient client, string deployId, Func<JsonElement, bool> done, TimeSpan timeout) =>
        SystemHttp.WaitForDeploymentAsync(client, deployId, done, timeout);

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ownDataDir?.Dispose();
    }
}
