using System.Buffers;
using System.Text;
using DeepDeploy.Gateway.Inference.Upstream;

namespace DeepDeploy.Tests.Gateway.Upstream;

/// <summary>Chunked bodies as they arrive from an engine, whole or split anywhere.</summary>
[Trait("Category", "Unit")]
public sealed class ChunkedDecoderTests
{
    /// <summary>Feeds <paramref name="wire"/> in pieces of <paramref name="piece"/> bytes, keeping what the decoder
    /// did not consume, as the connection does; returns the data and whether the body ended.</summary>
    static (string Data, bool Done, bool Invalid, int Left) Decode(string wire, int piece)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        var decoder = new ChunkedDecoder();
        var data = new StringBuilder();
        var pending = new List<byte>();
        for (var offset = 0; offset < bytes.Length && !decoder.IsDone; offset += piece)
        {
            pending.AddRange(bytes.Skip(offset).Take(piece));
            while (pending.Count > 0 && !decoder.IsDone)
            {
                var input = pending.ToArray();
                var status = decoder.Read(input, out var consumed, out var range);
                if (status == OperationStatus.InvalidData)
                {
                    return (data.ToString(), false, true, 0);
                }

                data.Append(Encoding.Latin1.GetString(input[range]));
                pending.RemoveRange(0, consumed);
                if (status == OperationStatus.NeedMoreData)
                {
                    break;
                }
            }
        }

        return (data.ToString(), decoder.IsDone, false, pending.Count);
    }

    public static TheoryData<int> Pieces => [1, 2, 3, 5, 7, 1000];

    [Theory]
    [MemberData(nameof(Pieces))]
    public void Decodes_chunks_split_anywhere(int piece)
    {
        var result = Decode("5\r\nhello\r\n1;name=value\r\n \r\nA ; ext\r\n0123456789\r\n0\r\n\r\n", piece);
        Assert.Equal(("hello 0123456789", true, false, 0), result);
    }

    [Theory]
    [MemberData(nameof(Pieces))]
    public void Reads_and_drops_trailers_and_extensions_on_the_last_chunk(int piece)
    {
        var result = Decode("3\r\nabc\r\n0;last=yes\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", piece);
        Assert.Equal(("abc", true, false, 0), result);
    }

    [Fact]
    public void Leaves_bytes_after_the_body_unconsumed()
    {
        var result = Decode("1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK", 1000);
        Assert.Equal(("a", true, false, "HTTP/1.1 200 OK".Length), result);
    }

    [Theory]
    [InlineData("g\r\nx\r\n0\r\n\r\n")]
    [InlineData("\r\nx\r\n0\r\n\r\n")]
    [InlineData(";ext\r\n")]
    [InlineData("1\nx\r\n0\r\n\r\n")]
    [InlineData("1\r\nxy\r\n0\r\n\r\n")]
    [InlineData("1\r\nx\r\n0\r\n\n")]
    [InlineData("1234567890123456\r\n")]
    public void Refuses_bad_framing(string wire) => Assert.True(Decode(wire, 1000).Invalid);

    [Fact]
    public void Refuses_an_endless_size_line()
    {
        Assert.True(Decode("1" + new string(' ', 5000), 1000).Invalid);
    }
}
