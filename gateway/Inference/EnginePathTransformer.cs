using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Maps a gateway path (/v1/openai/...) to the engine's (/v1/...) and keeps the caller's token
/// away from the engine.</summary>
public sealed class EnginePathTransformer(string enginePath) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
        string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.RequestUri = new Uri(destinationPrefix.TrimEnd('/') + enginePath);
        proxyRequest.Headers.Authorization = null;
    }
}
