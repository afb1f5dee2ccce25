using System.Net;
using DeepDeploy.GpuWorker;
using DeepDeploy.GpuWorker.Api;
using DeepDeploy.GpuWorker.Engine;
using DeepDeploy.GpuWorker.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// DeepDeploy inference worker: one OS process per model instance, started by a node agent.
// stdout carries exactly one line, "DEEPDEPLOY_WORKER_LISTENING http://<host>:<port>"; all logs go to stderr.

WorkerOptions options;
try
{
    options = WorkerOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(WorkerOptions.Usage);
    return 2;
}

if (options.Engine == WorkerEngineKind.Llama && !File.Exists(options.ModelPath))
{
    Console.Error.WriteLine($"DEEPDEPLOY_WORKER_ERROR model file not found: {options.ModelPath}");
    return 1;
}

if (!IPAddress.TryParse(options.Host == "localhost" ? "127.0.0.1" : options.Host, out var bindAddress))
{
    Console.Error.WriteLine($"error: --host must be an IP address, got '{options.Host}'");
    return 2;
}

if (options.Engine == WorkerEngineKind.Llama)
    NativeLogging.Configure();

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = [],
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k => k.Listen(bindAddress, options.Port));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<WorkerMetrics>();
builder.Services.AddSingleton(sp => new AdmissionGate(options.AdmissionLimit, sp.GetRequiredService<WorkerMetrics>()));
builder.Services.AddSingleton<ModelHost>();
builder.Services.AddSingleton<IHostLifetime, DrainingLifetime>();

var app = builder.Build();
if (options.EnsureContextHoldsBatch() is { } warning)
    app.Logger.LogWarning("{Warning}", warning);
app.MapWorkerEndpoints();

var host = app.Services.GetRequiredService<ModelHost>();
app.Lifetime.ApplicationStarted.Register(() =>
{
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
    var port = address is null ? options.Port : new Uri(address).Port;
    var shownHost = bindAddress.Equals(IPAddress.Any) || bindAddress.Equals(IPAddress.IPv6Any) ? "127.0.0.1"
        : bindAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{bindAddress}]" : bindAddress.ToString();
    Console.Out.WriteLine($"DEEPDEPLOY_WORKER_LISTENING http://{shownHost}:{port}");
    Console.Out.Flush();
    _ = host.StartLoading();
});

await app.RunAsync();
await host.DisposeAsync();
return host.ExitCode;
