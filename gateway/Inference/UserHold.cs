namespace DeepDeploy.Gateway.Inference;

/// <summary>One inference request's share of its user's limits at this gateway (<see cref="UserRequestLimiter"/>): its
/// place among the requests in flight, the bytes of its body, and whether it is held for a cold start. All of it is
/// given back when the request ends.</summary>
public sealed class UserHold : IDisposable
{
    readonly UserRequestCount _count;
    long _bytes;
    bool _coldStart;
    bool _disposed;

    internal UserHold(UserRequestCount count) => _count = count;

    /// <summary>Holds the body's bytes up to <paramref name="total"/> (a body read without a Content-Length grows to its
    /// length); the user's limit when that would pass it, else null.</summary>
    public long? TryHoldBytes(long total)
    {
        if (total <= _bytes)
        {
            return null;
        }

        if (!_count.TryHoldBytes(total - _bytes))
        {
            return _count.BytesLimit;
        }

        _bytes = total;
        return null;
    }

    /// <summary>Counts the request as held for a cold start until it ends; the user's limit when refused, else null.</summary>
    public int? TryHoldColdStart()
    {
        if (_coldStart)
        {
            return null;
        }

        if (!_count.TryHoldColdStart())
        {
            return _count.ColdStartLimit;
        }

        _coldStart = true;
        return null;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _count.ReleaseBytes(_bytes);
        if (_coldStart)
        {
            _count.ExitColdStart();
        }

        _count.Exit();
    }
}
