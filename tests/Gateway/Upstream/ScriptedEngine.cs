using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DeepDeploy.Tests.Gateway.Upstream;

/// <summary>A loopback TCP server that answers each request with what a script writes: the engine's side of the wire,
/// byte for byte, for the raw HTTP/1.1 forwarder's tests. Counts connections and keeps the requests it read.</summary>
public sealed class ScriptedEngine : IAsyncDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly Func<Request, NetworkStream, Task<bool>> _answer;
    readonly CancellationTokenSource _stop = new();
    readonly List<Task> _connections = [];
    readonly Task _accepting;
    int _connectionCount;

    /// <param name="answer">Writes the answer to a request; returns false to close the connection after it.</param>
    public ScriptedEngine(Func<Request, NetworkStream, Task<bool>> answer)
    {
        _answer = answer;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>One request as read: the head's text and the body's.</summary>
    public sealed record Request(int Connection, int Number, string Head, string Body);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public int Connections => Volatile.Read(ref _connectionCount);

    public List<Request> Requests { get; } = [];

    async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var number = Interlocked.Increment(ref _connectionCount);
            lock (_connections)
            {
                _connections.Add(ServeAsync(client, number));
            }
        }
    }

    async Task ServeAsync(TcpClient client, int connection)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            for (var number = 1; ; number++)
            {
                int end;
                while ((end = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
                {
                    var n = await stream.ReadAsync(chunk, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n));
                }

                var head = Encoding.Latin1.GetString(buffer.GetRange(0, end + 4).ToArray());
                var length = head.Split("\r\n").Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                buffer.RemoveRange(0, end + 4);
                while (buffer.Count < length)
                {
                    var n = await stream.ReadAsync(chunk, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n));
                }

                var request = new Request(connection, number, head, Encoding.UTF8.GetString(buffer.GetRange(0, length).ToArray()));
                buffer.RemoveRange(0, length);
                lock (Requests)
                {
                    Requests.Add(request);
                }

                if (!await _answer(request, stream))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            // The client went away, or the test ended.
        }
    }

    static int IndexOf(List<byte> buffer, byte[] pattern)
    {
        for (var i = 0; i + pattern.Length <= buffer.Count; i++)
        {
            if (buffer.GetRange(i, pattern.Length).SequenceEqual(pattern))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Writes <paramref name="text"/> in pieces of <paramref name="piece"/> bytes, each flushed on its own.</summary>
    public static async Task WriteAsync(NetworkStream stream, string text, int piece = int.MaxValue)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var offset = 0; offset < bytes.Length; offset += piece)
        {
            await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(piece, bytes.Length - offset)));
            await stream.FlushAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
