using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Events;

/// <summary>A text/event-stream response that sends its headers at once (a follower with nothing to read yet
/// knows it is connected), writes items until they end or the client leaves, and writes a comment line every
/// <see cref="EventStreamOptions.KeepAliveInterval"/> so an idle stream is not cut by a proxy.</summary>
public sealed class EventStreamResult(Func<CancellationToken, IAsyncEnumerable<SseItem<string>>> items) : IResult
{
    static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public async Task ExecuteAsync(HttpContext http)
    {
        var aborted = http.RequestAborted;
        var interval = http.RequestServices.GetRequiredService<IOptions<EventStreamOptions>>().Value.KeepAliveInterval;
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var body = http.Response.Body;
        // Items and keep-alives come from two loops: one write at a time.
        using var writing = new SemaphoreSlim(1, 1);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        try
        {
            await http.Response.StartAsync(aborted);
            var keepAlive = KeepAliveAsync(body, writing, interval, time, done.Token);
            try
            {
                await foreach (var item in items(aborted))
                {
                    await writing.WaitAsync(aborted);
                    try
                    {
                        await SseFormatter.WriteAsync(new[] { item }.ToAsyncEnumerable(), body, aborted);
                    }
                    finally
                    {
                        writing.Release();
                    }
                }
            }
            finally
            {
                await done.CancelAsync();
                await keepAlive;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left: the normal end of a follow.
        }
    }

    static async Task KeepAliveAsync(Stream body, SemaphoreSlim writing, TimeSpan interval, TimeProvider time, CancellationToken done)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(done))
            {
                await writing.WaitAsync(done);
                try
                {
                    await body.WriteAsync(KeepAlive, done);
                    await body.FlushAsync(done);
                }
                finally
                {
                    writing.Release();
                }
            }
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested)
        {
            // The stream ended or the client left.
        }
    }
}
