using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Inference;

/// <summary>What one user holds at this gateway (requests in flight, bytes of request bodies, requests held for a cold
/// start) and the limits last read from their account.</summary>
sealed class UserRequestCount
{
    int _inFlight;
    long _bytes;
    int _coldStart;

    /// <summary>The defaults until the account is read, so that requests racing the first read are not refused.</summary>
    public int Limit { get; set; } = UserLimits.DefaultMaxConcurrentRequests;

    public long BytesLimit { get; set; } = UserLimits.DefaultMaxRequestBytes;

    public int ColdStartLimit { get; set; } = UserLimits.DefaultMaxColdStartRequests;

    /// <summary>When the limits were read; <see cref="long.MinValue"/> until the first read.</summary>
    public long ReadAt { get; set; } = long.MinValue;

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool TryEnter() => TryAdd(ref _inFlight, Limit);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    public bool TryHoldBytes(long bytes)
    {
        if (Interlocked.Add(ref _bytes, bytes) <= BytesLimit)
        {
            return true;
        }

        Interlocked.Add(ref _bytes, -bytes);
        return false;
    }

    public void ReleaseBytes(long bytes) => Interlocked.Add(ref _bytes, -bytes);

    public bool TryHoldColdStart() => TryAdd(ref _coldStart, ColdStartLimit);

    public void ExitColdStart() => Interlocked.Decrement(ref _coldStart);

    static bool TryAdd(ref int count, int limit)
    {
        if (Interlocked.Increment(ref count) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref count);
        return false;
    }
}
