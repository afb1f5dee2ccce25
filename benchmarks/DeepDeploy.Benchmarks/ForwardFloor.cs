using System.Net;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// The gateway benchmark's floor: bare Kestrel and YARP's forwarder passing every request through, round-robin, to
/// the same workers, with each worker's secret; no authentication, routing, admission, telemetry or logging. The
/// gateway's figures minus these are what DeepDeploy itself adds (docs/gateway.md). Run as its own process:
/// <c>--floor URL ENDPOINT=SECRET...</c>, with DOTNET_gcServer=1 as the silo has; the runtime's DOTNET_* variables and
/// the gateway's socket transport section (<see cref="TransportSettings"/>, from the environment) apply as in the silo.
/// </summary>
public static class ForwardFloor
{
    public static async Task RunAsync(string url, IEnumerable<string> workers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddHttpForwarder();
        builder.Services.AddGatewayTransport();
        var app = builder.Build();

        // The gateway's own settings for its connections to engines.
        var invoker = new HttpMessageInvoker(InferenceForwarder.EngineHandler(propagator: null));
        var config = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        var destinations = workers.Select(w => w.Split('=', 2)).Select(w => (Prefix: w[0], Transformer: new SecretTransformer(w[1]))).ToArray();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var next = 0u;
        app.Run(async http =>
        {
            var (prefix, transformer) = destinations[Interlocked.Increment(ref next) % destinations.Length];
            await forwarder.SendAsync(http, prefix, invoker, config, transformer);
        });
        await app.StartAsync();
        Console.WriteLine($"floor listening on {url}");
        await app.WaitForShutdownAsync();
    }

    sealed class SecretTransformer(string secret) : HttpTransformer
    {
        readonly System.Net.Http.Headers.AuthenticationHeaderValue _authorization = new("Bearer", secret);

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
            string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Authorization = _authorization;
        }
    }
}
