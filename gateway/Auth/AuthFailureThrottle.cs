using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Counts failed authentications per source address in fixed windows; a source over the limit is refused
/// before its token is looked at, so guessing tokens (or the operator's) costs the guesser, not the directory.
/// IPv6 sources count per /64, the block one host usually holds. Bounded: beyond the tracked sources it starts over.</summary>
public sealed class AuthFailureThrottle(TimeProvider time, IOptions<AuthOptions> options)
{
    readonly ConcurrentDictionary<IPAddress, Window> _windows = new();

    /// <summary>How long <paramref name="source"/> must wait, or null when it may authenticate.</summary>
    public TimeSpan? RetryAfter(IPAddress? source)
    {
        if (!_windows.TryGetValue(Key(source), out var window))
        {
            return null;
        }

        var now = time.GetUtcNow();
        lock (window)
        {
            return window.Failures >= options.Value.FailureLimit && window.Ends > now ? window.Ends - now : null;
        }
    }

    public void RecordFailure(IPAddress? source)
    {
        var now = time.GetUtcNow();
        var o = options.Value;
        var key = Key(source);
        if (!_windows.ContainsKey(key))
        {
            BoundedMap.MakeRoom(_windows, o.MaxTrackedSources, w => w.Ends <= now);
        }

        var window = _windows.GetOrAdd(key, _ => new Window { Ends = now + o.FailureWindow });
        lock (window)
        {
            if (window.Ends <= now)
            {
                window.Ends = now + o.FailureWindow;
                window.Failures = 0;
            }

            window.Failures++;
        }
    }

    public int TrackedSources => _windows.Count;

    static IPAddress Key(IPAddress? source)
    {
        if (source is null)
        {
            return IPAddress.None;
        }

        if (source.IsIPv4MappedToIPv6)
        {
            return source.MapToIPv4();
        }

        if (source.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return source;
        }

        var bytes = source.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    sealed class Window
    {
        public DateTimeOffset Ends;
        public int Failures;
    }
}
