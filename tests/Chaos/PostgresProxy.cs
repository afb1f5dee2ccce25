using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// A TCP relay between the cluster's processes and PostgreSQL, so one test can take "the database" away without
/// stopping the server other tests share: <see cref="Cut"/> stops listening (new connections are refused, as
/// with a stopped server) and resets every open connection; <see cref="Restore"/> listens again on the same port.
/// </summary>
public sealed class PostgresProxy : IAsyncDisposable
{
    readonly IPEndPoint _upstream;
    readonly List<TcpClient> _open = [];
    readonly CancellationTokenSource _stop = new();
    TcpListener? _listener;
    Task? _accepting;

    public PostgresProxy(string server)
    {
        var builder = new NpgsqlConnectionStringBuilder(server);
        _upstream = new IPEndPoint(IPAddress.Parse(builder.Host == "localhost" ? "127.0.0.1" : builder.Host!), builder.Port);
        Port = Ports.Free();
        Restore();
    }

    public int Port { get; }

    public bool IsListening
    {
        get
        {
            lock (_open)
            {
                return _listener is not null;
            }
        }
    }

    /// <summary><paramref name="connectionString"/> pointed at the proxy instead of the server.</summary>
    public string Through(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    /// <summary>The database is gone: refused connections, open ones reset.</summary>
    public void Cut()
    {
        lock (_open)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var client in _open)
            {
                client.Client.LingerState = new LingerOption(true, 0); // RST, as a dead server's host would answer
                client.Dispose();
            }

            _open.Clear();
        }
    }

    public void Restore()
    {
        lock (_open)
        {
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _accepting = AcceptAsync(listener);
        }
    }

    async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient downstream;
            try
            {
                downstream = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return; // cut or disposed
            }

            _ = RelayAsync(downstream);
        }
    }

    async Task RelayAsync(TcpClient downstream)
    {
        var upstream = new TcpClient();
        lock (_open)
        {
            _open.Add(downstream);
            _open.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(_upstream, _stop.Token);
            var down = downstream.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(down.CopyToAsync(up, _stop.Token), up.CopyToAsync(down, _stop.Token));
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // one side went away (or the cut reset both)
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(downstream);
                _open.Remove(upstream);
            }

            downstream.Dispose();
            upstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Cut();
        if (_accepting is not null)
        {
            await _accepting;
        }

        _stop.Dispose();
    }
}
