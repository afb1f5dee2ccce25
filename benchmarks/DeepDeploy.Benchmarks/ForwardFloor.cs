using System.Net;
using System.Text;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// The gateway benchmark's floors: bare Kestrel passing every request through, round-robin, to the same workers,
/// with each worker's secret; no authentication, routing, admission, telemetry or logging. The gateway's figures
/// minus these are what DeepDeploy itself adds (docs/gateway.md). Run as its own process:
/// <c>--floor [yarp|raw|kestrel] URL ENDPOINT=SECRET...</c>, with DOTNET_gcServer=1 as the silo has; the runtime's
/// DOTNET_* variables and the gateway's socket transport section (<see cref="TransportSettings"/>, from the
/// environment) apply as in the silo. Modes:
/// <list type="bullet">
/// <item><c>yarp</c>: YARP's <see cref="IHttpForwarder"/> over the gateway's <see cref="SocketsHttpHandler"/>.</item>
/// <item><c>raw</c>: the body read whole, then hand-written HTTP/1.1 over pooled keep-alive sockets
/// (<see cref="EngineExchange"/>), the answer copied through as it arrives.</item>
/// <item><c>kestrel</c>: the body read, a canned answer of the workers' size; no forwarding at all: what the server
/// side alone costs.</item>
/// </list>
/// </summary>
public static class ForwardFloor
{
    public const string Yarp = "yarp", Raw = "raw", Kestrel = "kestrel";

    /// <summary>A chat completion of 16 tokens as the fake engine answers it (about its size).</summary>
    static readonly byte[] Canned = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-0000000000000000000000000000","object":"chat.completion","created":1764748800,"model":"bench/fast","choices":[{"index":0,"message":{"role":"assistant","content":"tok tok tok tok tok tok tok tok tok tok tok tok tok tok tok tok"},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":16,"total_tokens":25}}""");

    public static async Task RunAsync(string mode, string url, IEnumerable<string> workers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddHttpForwarder();
        builder.Services.AddGatewayTransport();
        var app = builder.Build();
        var destinations = workers.Select(w => w.Split('=', 2)).ToArray();
        var next = 0u;
        switch (mode)
        {
            case Yarp:
            {
                // The gateway's own settings for its connections to engines.
                var invoker = new HttpMessageInvoker(InferenceForwarder.EngineHandler(propagator: null));
                var config = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
                var targets = destinations.Select(w => (Prefix: w[0], Transformer: new SecretTransformer(w[1]))).ToArray();
                var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
                app.Run(async http =>
                {
                    var (prefix, transformer) = targets[Interlocked.Increment(ref next) % targets.Length];
                    await forwarder.SendAsync(http, prefix, invoker, config, transformer);
                });
                break;
            }

            case Raw:
            {
                var targets = destinations.Select(w =>
                {
                    var pool = EngineConnectionPool.For(w[0], maxConnections: 1024, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3));
                    return (Pool: pool, Prefix: EngineExchange.RequestPrefix("/v1/chat/completions", pool.Authority, w[1]));
                }).ToArray();
                app.Run(async http =>
                {
                    var (pool, prefix) = targets[Interlocked.Increment(ref next) % targets.Length];
                    var body = await JsonBody.ReadBytesAsync(http.Request, 1 << 20, http.RequestAborted);
                    EngineConnection? connection = null;
                    try
                    {
                        connection = await EngineExchange.SendAsync(pool, prefix, body, null, TimeSpan.FromSeconds(100), http.RequestAborted);
                        EngineExchange.CopyHeaders(connection, http.Response);
                        await connection.CopyBodyAsync(http.Response.Body);
                    }
                    catch (Exception e) when (e is not ClientWriteException && !http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted)
                    {
                        http.Response.StatusCode = StatusCodes.Status502BadGateway;
                    }
                    finally
                    {
                        if (connection is not null)
                        {
                            pool.Return(connection);
                        }
                    }
                });
                break;
            }

            case Kestrel:
                app.Run(async http =>
                {
                    await JsonBody.ReadBytesAsync(http.Request, 1 << 20, http.RequestAborted);
                    http.Response.ContentType = "application/json";
                    http.Response.ContentLength = Canned.Length;
                    await http.Response.Body.WriteAsync(Canned);
                });
                break;
            default:
                throw new ArgumentException($"Unknown floor mode '{mode}': {Yarp}, {Raw} or {Kestrel}.");
        }

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
