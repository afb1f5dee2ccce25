using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;

namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>
/// One keep-alive HTTP/1.1 connection to an engine, used by one request at a time: the request is written as bytes
/// (head and body in one send when they fit), the response head parsed in place (<see cref="ResponseHead"/>), the
/// body copied through as it arrives (Content-Length, chunked, or up to the engine's close). Every receive is bounded
/// by the activity timeout, and the request's cancellation (the client went away) aborts a receive in progress; a
/// connection that saw either, or an error, is not reused (<see cref="Reusable"/>).
/// </summary>
public sealed class EngineConnection : IDisposable
{
    const int SendBufferSize = 8 * 1024;

    readonly Socket _socket;
    readonly byte[] _receive = new byte[ResponseHead.MaxSize];
    readonly byte[] _send = new byte[SendBufferSize];
    readonly CancellationTokenSource _timeout = new();
    int _start, _end;
    bool _complete;
    bool _broken;
    TimeSpan _activityTimeout;
    CancellationTokenRegistration _registration;

    /// <summary>When the activity timeout was last armed (Stopwatch ticks; 0: for the next operation).</summary>
    long _armedAt;

    /// <summary>Where the current response's head starts in the receive buffer.</summary>
    int _headStart;
    ChunkedDecoder _decoder;

    /// <summary>Body bytes still to come with a Content-Length, -1 without one.</summary>
    long _remaining;

    EngineConnection(Socket socket) => _socket = socket;

    public ResponseHead Head { get; } = new();

    /// <summary>Whether this connection carried a response before the current one (a failure before any byte of the
    /// response on a reused connection is the engine's idle close: the request may be sent again).</summary>
    public bool Reused { get; private set; }

    /// <summary>When the connection was returned to its pool (Stopwatch ticks).</summary>
    public long IdleSince { get; private set; }

    /// <summary>The activity timeout, still armed from the last exchange, passed while the connection was idle.</summary>
    public bool Expired => _timeout.IsCancellationRequested;

    /// <summary>The last response was read whole, the engine keeps the connection open, and nothing failed.</summary>
    public bool Reusable => _complete && !_broken && Head.KeepAlive && _start == _end;

    public static async ValueTask<EngineConnection> OpenAsync(string host, int port, TimeSpan connectTimeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            await socket.ConnectAsync(host, port, timeout.Token);
            return new EngineConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The buffer to write the request head into before <see cref="SendAsync"/>.</summary>
    public Span<byte> HeadBuffer => _send;

    /// <summary>Starts an exchange: sends the head (the first <paramref name="headLength"/> bytes of
    /// <see cref="HeadBuffer"/>) and the body. Until <see cref="End"/>, <paramref name="cancellationToken"/> aborts
    /// any receive.</summary>
    public async ValueTask SendAsync(int headLength, ReadOnlyMemory<byte> body, TimeSpan activityTimeout, CancellationToken cancellationToken)
    {
        _complete = false;
        _armedAt = _activityTimeout == activityTimeout ? _armedAt : 0;
        _activityTimeout = activityTimeout;
        _registration = cancellationToken.UnsafeRegister(static state => ((EngineConnection)state!).Abort(), this);
        try
        {
            if (headLength + body.Length <= _send.Length)
            {
                body.Span.CopyTo(_send.AsSpan(headLength));
                await SendAllAsync(_send.AsMemory(0, headLength + body.Length));
            }
            else
            {
                await SendAllAsync(_send.AsMemory(0, headLength));
                await SendAllAsync(body);
            }
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    /// <summary>Reads the response head into <see cref="Head"/>; interim (1xx) responses are skipped.</summary>
    /// <returns>False when the engine closed the connection before sending any byte of a response.</returns>
    /// <exception cref="InvalidDataException">The head is malformed or too large, or the connection ended in it.</exception>
    public async ValueTask<bool> ReadHeadAsync()
    {
        try
        {
            while (true)
            {
                var status = Head.TryParse(_receive.AsSpan(_start, _end - _start), out var consumed);
                if (status == OperationStatus.Done)
                {
                    _headStart = _start;
                    _start += consumed;
                    if (Head.StatusCode is >= 100 and < 200)
                    {
                        if (Head.StatusCode == 101)
                        {
                            throw new InvalidDataException("The engine switched protocols.");
                        }

                        continue;
                    }

                    _decoder = default;
                    _remaining = Head.ContentLength;
                    _complete = !Head.HasBody || _remaining == 0;
                    return true;
                }

                if (status == OperationStatus.InvalidData)
                {
                    throw new InvalidDataException("The engine's response head is malformed.");
                }

                var before = _end - _start;
                if (await FillAsync() == 0)
                {
                    if (before == 0)
                    {
                        _broken = true;
                        return false;
                    }

                    throw new InvalidDataException("The engine closed the connection inside a response head.");
                }
            }
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    /// <summary>The bytes of <see cref="Head"/>'s header ranges: valid until the body is read.</summary>
    public ReadOnlySpan<byte> HeadBytes => _receive.AsSpan(_headStart);

    /// <summary>Copies the body to <paramref name="destination"/> as it arrives, one write per receive.</summary>
    /// <exception cref="ClientWriteException">Writing to <paramref name="destination"/> failed (the client went away).</exception>
    /// <exception cref="InvalidDataException">The chunked framing is malformed, or the engine closed early.</exception>
    public async ValueTask CopyBodyAsync(Stream destination)
    {
        try
        {
            while (true)
            {
                if (_start < _end)
                {
                    var length = Head.Chunked ? DecodeInPlace() : Take();
                    if (length > 0)
                    {
                        try
                        {
                            await destination.WriteAsync(_receive.AsMemory(_start - length, length));
                        }
                        catch (Exception e)
                        {
                            throw new ClientWriteException(e);
                        }
                    }
                }

                if (_complete)
                {
                    return;
                }

                // Whatever is buffered now is an incomplete chunk-size line: more is needed.
                if (await FillAsync() == 0)
                {
                    if (!Head.Chunked && _remaining < 0)
                    {
                        // Delimited by the close.
                        _complete = true;
                        return;
                    }

                    throw new InvalidDataException("The engine closed the connection inside a response body.");
                }
            }
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    /// <summary>Content-Length or close-delimited: takes what is buffered. Returns how many bytes before
    /// <c>_start</c> are body.</summary>
    int Take()
    {
        var length = _remaining < 0 ? _end - _start : (int)Math.Min(_remaining, _end - _start);
        _start += length;
        if (_remaining >= 0)
        {
            _remaining -= length;
            _complete = _remaining == 0;
        }

        return length;
    }

    /// <summary>Decodes the buffered chunked bytes, moving their data together so that it ends at <c>_start</c>
    /// (a partial chunk-size line left over follows it). Returns the data's length.</summary>
    int DecodeInPlace()
    {
        var (dataStart, write) = (_start, _start);
        while (_start < _end && !_complete)
        {
            var status = _decoder.Read(_receive.AsSpan(_start, _end - _start), out var consumed, out var data);
            if (status == OperationStatus.InvalidData)
            {
                throw new InvalidDataException("The engine's chunked body is malformed.");
            }

            var (offset, length) = data.GetOffsetAndLength(_end - _start);
            _receive.AsSpan(_start + offset, length).CopyTo(_receive.AsSpan(write));
            write += length;
            _start += consumed;
            _complete = _decoder.IsDone;
            if (status == OperationStatus.NeedMoreData)
            {
                break;
            }
        }

        var pending = _end - _start;
        _receive.AsSpan(_start, pending).CopyTo(_receive.AsSpan(write));
        (_start, _end) = (write, write + pending);
        return write - dataStart;
    }

    /// <summary>Ends the exchange: the cancellation no longer reaches this connection.</summary>
    public void End()
    {
        _registration.Dispose();
        _registration = default;
        // The timer stays armed (resetting it takes the timer queue's lock on every request): an idle connection
        // outlives its pool's idle timeout only if the activity timeout is shorter, and is then dropped here or on reuse.
        if (_timeout.IsCancellationRequested)
        {
            _broken = true;
        }
    }

    /// <summary>Marks the connection returned to its pool.</summary>
    internal void Idle()
    {
        Reused = true;
        IdleSince = Stopwatch.GetTimestamp();
        _start = _end = 0;
    }

    async ValueTask<int> FillAsync()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _receive.Length)
        {
            if (_start == 0)
            {
                throw new InvalidDataException("The engine's response does not fit the receive buffer.");
            }

            _receive.AsSpan(_start, _end - _start).CopyTo(_receive);
            (_start, _end) = (0, _end - _start);
        }

        Arm();
        var received = await _socket.ReceiveAsync(_receive.AsMemory(_end), SocketFlags.None, _timeout.Token);
        _end += received;
        return received;
    }

    async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0)
        {
            Arm();
            data = data[await _socket.SendAsync(data, SocketFlags.None, _timeout.Token)..];
        }
    }

    /// <summary>Moves the activity timeout to a full period from now, at most every eighth of it (and every second):
    /// each move takes the runtime's timer queue lock, which every request's two or three operations contended for
    /// (profile in docs/gateway.md). An engine silent since its last byte is abandoned after 7/8 to 1 period.</summary>
    void Arm()
    {
        var now = Stopwatch.GetTimestamp();
        if (now - _armedAt >= Math.Min(Stopwatch.Frequency, (long)(_activityTimeout.TotalSeconds * Stopwatch.Frequency / 8)))
        {
            _timeout.CancelAfter(_activityTimeout);
            _armedAt = now;
        }
    }

    void Abort()
    {
        try
        {
            _timeout.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection was disposed meanwhile.
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        _socket.Dispose();
        _timeout.Dispose();
    }
}
