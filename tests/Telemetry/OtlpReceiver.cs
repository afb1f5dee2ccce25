using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>A tiny OTLP/HTTP (protobuf) collector on loopback: keeps the spans it is sent (or, for benchmarks,
/// only counts the bytes), accepts and drops the metrics and logs.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    readonly WebApplication _app;
    long _traceBytes;

    OtlpReceiver(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<OtlpSpan> Spans { get; } = new();

    public long TraceBytes => Interlocked.Read(ref _traceBytes);

    public static async Task<OtlpReceiver> StartAsync(bool keepSpans = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        OtlpReceiver? receiver = null;
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            Interlocked.Add(ref receiver!._traceBytes, buffer.Length);
            foreach (var span in keepSpans ? OtlpTraceReader.Read(buffer.ToArray()) : [])
            {
                receiver.Spans.Enqueue(span);
            }

            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new OtlpReceiver(app, new Uri(address));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
