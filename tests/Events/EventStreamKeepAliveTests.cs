using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Text;
using System.Threading.Channels;
using DeepDeploy.Gateway.Events;
using DeepDeploy.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Events;

/// <summary>The follow endpoints' stream writer: items as they come, and a comment line every keep-alive interval of a
/// fake clock so proxies do not cut a quiet stream.</summary>
[Trait("Category", "Unit")]
public sealed class EventStreamKeepAliveTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_quiet_stream_gets_a_keep_alive_comment_every_interval_between_its_items()
    {
        var time = new FakeTimeProvider();
        var items = Channel.CreateUnbounded<SseItem<string>>();
        var body = new Pipe();
        using var leave = new CancellationTokenSource();
        var http = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddSingleton<TimeProvider>(time)
                .Configure<EventStreamOptions>(o => o.KeepAliveInterval = TimeSpan.FromSeconds(15)).BuildServiceProvider(),
            RequestAborted = leave.Token,
        };
        http.Response.Body = body.Writer.AsStream();
        var output = new StringBuilder();
        var reading = ReadAllAsync(body.Reader, output);
        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        var streaming = new EventStreamResult(aborted => items.Reader.ReadAllAsync(aborted)).ExecuteAsync(http);
        Assert.Equal("text/event-stream", http.Response.ContentType);
        await items.Writer.WriteAsync(new SseItem<string>("""{"n":1}""", "log"));
        await Eventually.TrueAsync(() => Text().Contains("event: log\ndata: {\"n\":1}\n\n", StringComparison.Ordinal), Wait, "the first item");

        // The timer runs on the fake clock: nothing but the item before the interval has passed.
        time.Advance(TimeSpan.FromSeconds(14));
        Assert.DoesNotContain(": keep-alive", Text(), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => Text().EndsWith("\n\n: keep-alive\n\n", StringComparison.Ordinal), Wait, "a keep-alive after 15 s");

        await items.Writer.WriteAsync(new SseItem<string>("""{"n":2}""", "log"));
        time.Advance(TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => Count(Text(), ": keep-alive\n\n") == 2 && Text().Contains("data: {\"n\":2}\n\n", StringComparison.Ordinal),
            Wait, "the second item and a second keep-alive");
        Assert.Equal(2, Count(Text(), "event: log\n"));

        // The client leaves: the response ends without an error, the timer with it.
        await leave.CancelAsync();
        await streaming.WaitAsync(Wait);
        await body.Writer.CompleteAsync();
        await reading.WaitAsync(Wait);
    }

    static int Count(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    static async Task ReadAllAsync(PipeReader reader, StringBuilder output)
    {
        using var text = new StreamReader(reader.AsStream(), Encoding.UTF8);
        var buffer = new char[1024];
        int read;
        while ((read = await text.ReadAsync(buffer)) > 0)
        {
            lock (output)
            {
                output.Append(buffer, 0, read);
            }
        }
    }
}
