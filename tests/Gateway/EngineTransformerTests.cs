using DeepDeploy.Gateway.Inference;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Tests.Gateway;

/// <summary>What the gateway sends the engine in place of the client's headers, with no trace recorded (no Activity:
/// the product's default with tracing off).</summary>
[Trait("Category", "Unit")]
public sealed class EngineTransformerTests
{
    [Fact]
    public async Task The_clients_trace_context_and_token_never_reach_the_engine_and_other_headers_do()
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.Headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        http.Request.Headers["tracestate"] = "tenant=1";
        http.Request.Headers["baggage"] = "user=alice";
        http.Request.Headers["X-Custom"] = "kept";
        http.Request.Headers.Authorization = "Bearer client-token";
        var slot = new InstanceSlot("i1", "http://127.0.0.1:9000", "instance-secret");
        http.Features.Set(new ForwardAttempt { Slot = slot });
        using var proxyRequest = new HttpRequestMessage(HttpMethod.Post, "http://placeholder/");

        Assert.Null(System.Diagnostics.Activity.Current);
        await EngineTransformer.Chat.TransformRequestAsync(http, proxyRequest, "http://127.0.0.1:9000", default);

        Assert.False(proxyRequest.Headers.Contains("traceparent"));
        Assert.False(proxyRequest.Headers.Contains("tracestate"));
        Assert.False(proxyRequest.Headers.Contains("baggage"));
        Assert.Equal("kept", Assert.Single(proxyRequest.Headers.GetValues("X-Custom")));
        Assert.Equal("Bearer instance-secret", proxyRequest.Headers.Authorization?.ToString());
        Assert.Equal("http://127.0.0.1:9000/v1/chat/completions", proxyRequest.RequestUri?.ToString());
    }
}
