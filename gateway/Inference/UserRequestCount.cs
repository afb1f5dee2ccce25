using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Inference;

/// <summary>One user's inference requests in flight at this gateway, and the limit last read from their account.</summary>
sealed class UserRequestCount
{
    int _inFlight;

    /// <summary>The default until the account is read, so that requests racing the first read are not refused.</summary>
    public int Limit { get; set; } = UserLimits.DefaultMaxConcurrentRequests;

    /// <summary>When <see cref="Limit"/> was read; <see cref="long.MinValue"/> until the first read.</summary>
    public long ReadAt { get; set; } = long.MinValue;

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inFlight) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);
}
