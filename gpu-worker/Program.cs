using System.Net;
using System.Net.Sockets;
using DeepDeploy.GpuWorker;
using DeepDeploy.GpuWorker.Api;
using DeepDeploy.GpuWorker.Engine;
using DeepDeploy.GpuWorker.Hosting;
using DeepDeploy.GpuWorker.Telemetry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

// DeepDeploy inference worker: one OS process per model instance, started by a node agent.
// stdout carries exactly one line, the readiness line (Readiness.ListeningLine); all logs go to stderr.

IConfiguration commandLine;
try
{
    commandLine = WorkerCommandLine.Read(args);
}
catch (ArgumentException ex)
{
    return BadArguments(ex.Message);
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = [],
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddOptions<WorkerOptions>().Bind(commandLine).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
builder.Services.AddOptions<KestrelServerOptions>()
    .Configure<IOptions<WorkerOptions>>((kestrel, worker) => kestrel.Listen(worker.Value.BindAddress, worker.Value.Port));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<WorkerMetrics>();
builder.Services.AddSingleton(sp => new AdmissionGate(
    sp.GetRequiredService<IOptions<WorkerOptions>>().Value.AdmissionLimit, sp.GetRequiredService<WorkerMetrics>()));
builder.Services.AddSingleton<ModelHost>();
builder.Services.AddSingleton<IHostLifetime, DrainingLifetime>();
builder.AddWorkerTelemetry(commandLine[nameof(WorkerOptions.InstanceId)]);

WebApplication app;
WorkerOptions options;
try
{
    // Building resolves the lifetime, which needs the options: validation fails here, before anything starts.
    app = builder.Build();
    options = app.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
}
catch (OptionsValidationException ex)
{
    return BadArguments(ex.Failures.First());
}

if (options.Engine == WorkerEngineKind.Llama && !File.Exists(options.Model))
{
    Console.Error.WriteLine($"{Readiness.ErrorPrefix}model file not found: {options.Model}");
    return 1;
}

if (options.Engine == WorkerEngineKind.Llama)
{
    NativeLogging.Configure();
}

if (options.ContextWarning is { } warning)
{
    app.Logger.LogWarning("{Warning}", warning);
}

app.UseInstanceAuth(options.ApiKey);
app.MapWorkerEndpoints();

var host = app.Services.GetRequiredService<ModelHost>();
app.Lifetime.ApplicationStarted.Register(() =>
{
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
    var port = address is null ? options.Port : new Uri(address).Port;
    var bound = options.BindAddress;
    var shownHost = bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any) ? "127.0.0.1"
        : bound.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bound}]"
        : bound.ToString();
    Console.Out.WriteLine(Readiness.ListeningLine(shownHost, port));
    Console.Out.Flush();
    _ = host.StartLoading();
});

await app.RunAsync();
await host.DisposeAsync();
return host.ExitCode;

static int BadArguments(string reason)
{
    Console.Error.WriteLine($"error: {reason}");
    Console.Error.WriteLine(WorkerCommandLine.Usage);
    return 2;
}
