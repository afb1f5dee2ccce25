using System.Buffers;
using System.Text;
using DeepDeploy.Gateway.Inference.Upstream;

namespace DeepDeploy.Tests.Gateway.Upstream;

/// <summary>The engine's response head as the raw forwarder reads it: status line, headers, and how the body ends.</summary>
[Trait("Category", "Unit")]
public sealed class ResponseHeadTests
{
    static (OperationStatus Status, ResponseHead Head, int Consumed) Parse(string text)
    {
        var head = new ResponseHead();
        var status = head.TryParse(Encoding.Latin1.GetBytes(text), out var consumed);
        return (status, head, consumed);
    }

    [Fact]
    public void Reads_status_headers_and_length()
    {
        const string text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length:  42 \r\nX-Empty:\r\n\r\n{\"body\"";
        var (status, head, consumed) = Parse(text);
        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(text.IndexOf('{'), consumed);
        Assert.Equal(200, head.StatusCode);
        Assert.Equal(42, head.ContentLength);
        Assert.False(head.Chunked);
        Assert.True(head.KeepAlive);
        Assert.Equal(3, head.HeaderCount);
        var bytes = Encoding.Latin1.GetBytes(text);
        var (name, value) = head.Header(0);
        Assert.Equal("Content-Type", Encoding.Latin1.GetString(bytes[name]));
        Assert.Equal("application/json", Encoding.Latin1.GetString(bytes[value]));
        Assert.Equal("42", Encoding.Latin1.GetString(bytes[head.Header(1).Value]));
        Assert.Equal("", Encoding.Latin1.GetString(bytes[head.Header(2).Value]));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, -1, true)]
    [InlineData("HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\nConnection: close\r\n\r\n", true, -1, false)]
    [InlineData("HTTP/1.1 200\r\nContent-Length: 0\r\nConnection: keep-alive, Upgrade\r\n\r\n", false, 0, true)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", false, 5, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\n", false, 5, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false, -1, false)]
    [InlineData("HTTP/1.1 204 No Content\r\n\r\n", false, -1, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", false, 7, true)]
    public void Knows_how_the_body_ends_and_whether_the_connection_stays(string text, bool chunked, long length, bool keepAlive)
    {
        var (status, head, _) = Parse(text);
        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(chunked, head.Chunked);
        Assert.Equal(length, head.ContentLength);
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\n\r")]
    [InlineData("HTTP/1.")]
    [InlineData("")]
    public void Waits_for_the_empty_line(string text) => Assert.Equal(OperationStatus.NeedMoreData, Parse(text).Status);

    [Theory]
    [InlineData("HTTP/2 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 abc OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200OK\r\n\r\n")]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n")]
    [InlineData("ICY 200 OK\r\n\r\n")]
    [InlineData("garbage\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nBad name : x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n")]
    public void Refuses_a_malformed_head(string text) => Assert.Equal(OperationStatus.InvalidData, Parse(text).Status);

    [Fact]
    public void Refuses_a_head_larger_than_the_buffer()
    {
        var text = "HTTP/1.1 200 OK\r\nX-Big: " + new string('a', ResponseHead.MaxSize) + "\r\n";
        Assert.Equal(OperationStatus.InvalidData, Parse(text).Status);
    }
}
