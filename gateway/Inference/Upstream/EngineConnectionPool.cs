using System.Diagnostics;

namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>
/// The keep-alive connections to one engine instance: at most <paramref name="maxConnections"/> open (a request
/// beyond waits for one), idle ones reused most recently returned first, an idle one older than
/// <paramref name="idleTimeout"/> closed rather than reused (the engine's server may close it at any time after its
/// own keep-alive timeout; ASP.NET Core's default is 130 s).
/// </summary>
public sealed class EngineConnectionPool(string host, int port, int maxConnections, TimeSpan idleTimeout, TimeSpan connectTimeout) : IDisposable
{
    readonly SemaphoreSlim _open = new(maxConnections, maxConnections);
    readonly Stack<EngineConnection> _idle = new();
    readonly long _idleTicks = (long)(idleTimeout.TotalSeconds * Stopwatch.Frequency);
    bool _disposed;

    /// <summary>A pool for an engine's base URL (<c>http://host:port</c>).</summary>
    public static EngineConnectionPool For(string endpoint, int maxConnections, TimeSpan idleTimeout, TimeSpan connectTimeout)
    {
        var uri = new Uri(endpoint);
        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"Only http:// engines are reached over raw HTTP/1.1, not '{uri.Scheme}'.", nameof(endpoint));
        }

        return new EngineConnectionPool(uri.IdnHost, uri.Port, maxConnections, idleTimeout, connectTimeout);
    }

    /// <summary>The Host header's value.</summary>
    public string Authority { get; } = port == 80 ? host : $"{host}:{port}";

    /// <summary>Idle connections kept now.</summary>
    public int IdleCount
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>An idle connection, or a new one.</summary>
    /// <param name="fresh">A new connection even when an idle one is there (a retry after a stale one failed).</param>
    public async ValueTask<EngineConnection> RentAsync(bool fresh, CancellationToken cancellationToken)
    {
        await _open.WaitAsync(cancellationToken);
        try
        {
            var now = Stopwatch.GetTimestamp();
            while (!fresh && TryPop(out var idle))
            {
                if (now - idle.IdleSince < _idleTicks && !idle.Expired)
                {
                    return idle;
                }

                idle.Dispose();
            }

            return await EngineConnection.OpenAsync(host, port, connectTimeout, cancellationToken);
        }
        catch
        {
            _open.Release();
            throw;
        }
    }

    /// <summary>Gives a rented connection back: kept when its last response was read whole and the engine keeps it
    /// open, closed otherwise.</summary>
    public void Return(EngineConnection connection)
    {
        connection.End();
        var keep = connection.Reusable;
        if (keep)
        {
            connection.Idle();
            lock (_idle)
            {
                keep = !_disposed;
                if (keep)
                {
                    _idle.Push(connection);
                }
            }
        }

        if (!keep)
        {
            connection.Dispose();
        }

        _open.Release();
    }

    bool TryPop(out EngineConnection connection)
    {
        lock (_idle)
        {
            return _idle.TryPop(out connection!);
        }
    }

    public void Dispose()
    {
        lock (_idle)
        {
            _disposed = true;
            while (_idle.TryPop(out var connection))
            {
                connection.Dispose();
            }
        }
    }
}
