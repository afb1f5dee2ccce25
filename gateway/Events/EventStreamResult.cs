using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace DeepDeploy.Gateway.Events;

/// <summary>A text/event-stream response that sends its headers at once (a follower with nothing to read yet
/// knows it is connected) and writes items until they end or the client leaves.</summary>
public sealed class EventStreamResult(Func<CancellationToken, IAsyncEnumerable<SseItem<string>>> items) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var aborted = http.RequestAborted;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await http.Response.StartAsync(aborted);
            await SseFormatter.WriteAsync(items(aborted), http.Response.Body, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left: the normal end of a follow.
        }
    }
}
