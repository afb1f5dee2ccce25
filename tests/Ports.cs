using System.Net;
using System.Net.Sockets;

namespace DeepDeploy.Tests;

/// <summary>Loopback ports for the processes tests start.</summary>
public static class Ports
{
    // Below Linux's ephemeral range (32768-60999): a port the OS picks for bind(0) is also what it hands out for
    // outgoing connections, and a cluster of processes makes many, so such a port may be taken again before the
    // process that should listen on it starts. Ports in this range are only ever taken by a listener.
    const int First = 20000;
    const int Last = 32000;

    static readonly HashSet<int> Given = [];

    /// <summary>A port nobody listens on right now (on any address), not handed out before by this test run.</summary>
    public static int Free()
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (!Given.Contains(port) && CanListen(port))
                {
                    Given.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no free port in {First}-{Last}");
    }

    static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
