using System.Net.Sockets;
using System.Text;
using DeepDeploy.Gateway.Inference.Upstream;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Tests.Gateway.Upstream;

/// <summary>The raw HTTP/1.1 forwarder against a scripted engine on loopback: what it sends, what it passes on, and
/// when it reuses a connection (only after a complete response the engine keeps open).</summary>
[Trait("Category", "Unit")]
public sealed class EngineExchangeTests
{
    static readonly TimeSpan Activity = TimeSpan.FromSeconds(10);

    static EngineConnectionPool Pool(ScriptedEngine engine, int max = 8) =>
        EngineConnectionPool.For(engine.Endpoint, max, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3));

    /// <summary>One request through the pool; returns the response as the client would get it.</summary>
    static async Task<(int Status, string Body, IHeaderDictionary Headers)> ForwardAsync(EngineConnectionPool pool, string body = """{"model":"a/b"}""",
        CancellationToken cancellationToken = default)
    {
        var prefix = EngineExchange.RequestPrefix("/v1/chat/completions", pool.Authority, "s3cret");
        var connection = await EngineExchange.SendAsync(pool, prefix, Encoding.UTF8.GetBytes(body), null, Activity, cancellationToken);
        try
        {
            var http = new DefaultHttpContext();
            EngineExchange.CopyHeaders(connection, http.Response);
            var copy = new MemoryStream();
            await connection.CopyBodyAsync(copy);
            return (http.Response.StatusCode, Encoding.UTF8.GetString(copy.ToArray()), http.Response.Headers);
        }
        finally
        {
            pool.Return(connection);
        }
    }

    static Func<ScriptedEngine.Request, NetworkStream, Task<bool>> Answer(string response, int piece = int.MaxValue, bool keepOpen = true) =>
        async (_, stream) =>
        {
            await ScriptedEngine.WriteAsync(stream, response, piece);
            return keepOpen;
        };

    [Fact]
    public async Task Sends_the_body_with_the_secret_and_nothing_else()
    {
        await using var engine = new ScriptedEngine(Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
        using var pool = Pool(engine);
        await ForwardAsync(pool, """{"model":"a/b","x":"é"}""");
        var request = Assert.Single(engine.Requests);
        Assert.Equal($"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{engine.Port}\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n", request.Head);
        Assert.Equal("""{"model":"a/b","x":"é"}""", request.Body);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(int.MaxValue)]
    public async Task Passes_a_content_length_answer_through_in_any_split(int piece)
    {
        var body = new string('x', 40_000);
        await using var engine = new ScriptedEngine(Answer($"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Engine: e1\r\nContent-Length: {body.Length}\r\n\r\n{body}", piece));
        using var pool = Pool(engine);
        var (status, received, headers) = await ForwardAsync(pool);
        Assert.Equal(201, status);
        Assert.Equal(body, received);
        Assert.Equal(body.Length, headers.ContentLength);
        Assert.Equal("application/json", headers.ContentType);
        Assert.Equal("e1", headers["X-Engine"]);
        Assert.Equal(1, pool.IdleCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(int.MaxValue)]
    public async Task Passes_a_chunked_stream_through_decoded_and_drops_hop_by_hop_headers(int piece)
    {
        const string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
            + "f;ext=1\r\ndata: {\"a\":1}\n\n\r\n" + "F\r\ndata: {\"a\":2}\n\n\r\n" + "e\r\ndata: [DONE]\n\n\r\n" + "0\r\nX-Trailer: t\r\n\r\n";
        await using var engine = new ScriptedEngine(Answer(wire, piece));
        using var pool = Pool(engine);
        var (status, received, headers) = await ForwardAsync(pool);
        Assert.Equal(200, status);
        Assert.Equal("data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n", received);
        Assert.Equal("text/event-stream", headers.ContentType);
        Assert.Null(headers.ContentLength);
        Assert.False(headers.ContainsKey("Transfer-Encoding"));
        Assert.False(headers.ContainsKey("Connection"));
        Assert.False(headers.ContainsKey("Keep-Alive"));
        Assert.Equal(1, pool.IdleCount);
    }

    [Fact]
    public async Task Reuses_a_connection_after_a_complete_response()
    {
        await using var engine = new ScriptedEngine(Answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"));
        using var pool = Pool(engine);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("ok", (await ForwardAsync(pool)).Body);
        }

        Assert.Equal(1, engine.Connections);
        Assert.Equal([1, 2, 3], engine.Requests.Select(r => r.Number));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nEXTRA")]
    public async Task Does_not_reuse_a_connection_the_engine_closes_or_that_holds_more_than_the_response(string response)
    {
        await using var engine = new ScriptedEngine(Answer(response));
        using var pool = Pool(engine);
        Assert.Equal("ok", (await ForwardAsync(pool)).Body);
        Assert.Equal(0, pool.IdleCount);
        Assert.Equal("ok", (await ForwardAsync(pool)).Body);
        Assert.Equal(2, engine.Connections);
    }

    [Fact]
    public async Task Reads_a_body_delimited_by_the_close_and_does_not_reuse_it()
    {
        await using var engine = new ScriptedEngine(Answer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", keepOpen: false));
        using var pool = Pool(engine);
        Assert.Equal("all of it", (await ForwardAsync(pool)).Body);
        Assert.Equal(0, pool.IdleCount);
    }

    [Theory]
    [InlineData("HTTP/1.1 OK\r\n\r\n")]
    [InlineData("HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("<html>hello</html>\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")]
    public async Task A_bad_response_head_is_an_error_and_the_connection_is_dropped(string response)
    {
        await using var engine = new ScriptedEngine(Answer(response));
        using var pool = Pool(engine);
        await Assert.ThrowsAsync<InvalidDataException>(() => ForwardAsync(pool));
        Assert.Equal(0, pool.IdleCount);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")]
    public async Task A_bad_or_cut_body_is_an_error_and_the_connection_is_dropped(string response)
    {
        await using var engine = new ScriptedEngine(Answer(response, keepOpen: false));
        using var pool = Pool(engine);
        await Assert.ThrowsAsync<InvalidDataException>(() => ForwardAsync(pool));
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public async Task A_stale_keep_alive_connection_is_replaced_once()
    {
        // The engine answers with keep-alive, then closes the connection (its idle timeout) before the next request.
        await using var engine = new ScriptedEngine(Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", keepOpen: false));
        using var pool = Pool(engine);
        Assert.Equal("ok", (await ForwardAsync(pool)).Body);
        Assert.Equal(1, pool.IdleCount);
        Assert.Equal("ok", (await ForwardAsync(pool)).Body);
        Assert.Equal(2, engine.Connections);
        Assert.Equal(2, engine.Requests.Count);
    }

    [Fact]
    public async Task A_refused_connection_is_a_socket_error()
    {
        var port = Ports.Free();
        using var pool = EngineConnectionPool.For($"http://127.0.0.1:{port}", 8, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3));
        await Assert.ThrowsAnyAsync<SocketException>(() => ForwardAsync(pool));
    }

    [Fact]
    public async Task A_cancelled_request_aborts_the_engine_s_answer_and_drops_the_connection()
    {
        var headSent = new TaskCompletionSource();
        await using var engine = new ScriptedEngine(async (request, stream) =>
        {
            await ScriptedEngine.WriteAsync(stream, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
            headSent.SetResult();
            // The rest never comes: the exchange ends when the client drops the connection.
            _ = await stream.ReadAsync(new byte[1]);
            return false;
        });
        using var pool = Pool(engine);
        using var cancel = new CancellationTokenSource();
        var prefix = EngineExchange.RequestPrefix("/v1/chat/completions", pool.Authority, null);
        var connection = await EngineExchange.SendAsync(pool, prefix, "{}"u8.ToArray(), null, Activity, cancel.Token);
        var copy = new MemoryStream();
        var copying = connection.CopyBodyAsync(copy).AsTask();
        await headSent.Task;
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copying);
        Assert.False(connection.Reusable);
        pool.Return(connection);
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public async Task An_engine_that_goes_silent_times_out()
    {
        await using var engine = new ScriptedEngine(async (request, stream) =>
        {
            // No answer: the exchange ends when the client drops the connection.
            _ = await stream.ReadAsync(new byte[1]);
            return false;
        });
        using var pool = Pool(engine);
        var prefix = EngineExchange.RequestPrefix("/v1/chat/completions", pool.Authority, null);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            EngineExchange.SendAsync(pool, prefix, "{}"u8.ToArray(), null, TimeSpan.FromMilliseconds(200), CancellationToken.None).AsTask());
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public async Task Holds_at_most_the_bound_of_connections_at_once()
    {
        await using var engine = new ScriptedEngine(Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        using var pool = Pool(engine, max: 2);
        var prefix = EngineExchange.RequestPrefix("/v1/chat/completions", pool.Authority, null);
        var first = await EngineExchange.SendAsync(pool, prefix, "{}"u8.ToArray(), null, Activity, CancellationToken.None);
        var second = await EngineExchange.SendAsync(pool, prefix, "{}"u8.ToArray(), null, Activity, CancellationToken.None);
        var third = EngineExchange.SendAsync(pool, prefix, "{}"u8.ToArray(), null, Activity, CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        await first.CopyBodyAsync(Stream.Null);
        pool.Return(first);
        var reused = await third;
        Assert.Same(first, reused);
        await second.CopyBodyAsync(Stream.Null);
        await reused.CopyBodyAsync(Stream.Null);
        pool.Return(second);
        pool.Return(reused);
        Assert.Equal(2, engine.Connections);
    }
}
