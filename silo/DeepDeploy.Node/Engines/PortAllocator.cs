using System.Net.NetworkInformation;

namespace DeepDeploy.Node.Engines;

/// <summary>
/// Ports for external engines, which must be told theirs. Handed out from a range below Linux's ephemeral range
/// (32768+), so the OS never gives one away to an outgoing connection between our pick and the engine's bind;
/// a port is skipped while one of our instances holds it or anything else listens on it.
/// </summary>
public sealed class PortAllocator
{
    readonly int _first;
    readonly int _last;
    readonly HashSet<int> _held = [];
    readonly Func<IReadOnlySet<int>> _listening;
    int _next;

    public PortAllocator(int first, int last, Func<IReadOnlySet<int>>? listening = null)
    {
        if (first < 1 || last > 65535 || first > last)
        {
            throw new ArgumentException($"engine port range {first}-{last} is not a range of TCP ports");
        }

        (_first, _last, _next) = (first, last, first);
        _listening = listening ?? ListeningPorts;
    }

    /// <summary>A port no instance of ours holds and nothing listens on; held until <see cref="Release"/>.</summary>
    public int Acquire()
    {
        var listening = _listening();
        lock (_held)
        {
            // Round-robin from the last port given: a port just released is the last one taken again.
            for (var i = 0; i <= _last - _first; i++)
            {
                var port = _next;
                _next = port == _last ? _first : port + 1;
                if (!_held.Contains(port) && !listening.Contains(port))
                {
                    _held.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no free engine port in {_first}-{_last}");
    }

    public void Release(int port)
    {
        lock (_held)
        {
            _held.Remove(port);
        }
    }

    static IReadOnlySet<int> ListeningPorts() =>
        IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Select(e => e.Port).ToHashSet();
}
