using System.Collections.Concurrent;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Each user's inference requests in flight at this gateway, across all of their models, held below the
/// account's <c>max_concurrent_requests</c>. Checked before the body is read, so that one tenant cannot fill the
/// gateway's memory. The limit is read from the user's grain at most once per <see cref="LimitRefresh"/>: a
/// changed limit applies within that time, and the hot path makes no grain call.
/// </summary>
public sealed class UserRequestLimiter(IGrainFactory grains, TimeProvider time)
{
    public static readonly TimeSpan LimitRefresh = TimeSpan.FromSeconds(5);

    readonly ConcurrentDictionary<string, UserRequestCount> _users = new(StringComparer.Ordinal);

    /// <summary>The user's limit when the request is refused, else null (and the caller must <see cref="Exit"/>).</summary>
    public async ValueTask<int?> TryEnterAsync(string user)
    {
        var count = _users.GetOrAdd(user, _ => new UserRequestCount());
        if (count.ReadAt == long.MinValue)
        {
            // A user's first request here waits for the limit; later ones use the last one read while it refreshes.
            count.ReadAt = time.GetTimestamp();
            await ReadLimitAsync(user, count);
        }
        else if (time.GetElapsedTime(count.ReadAt) >= LimitRefresh)
        {
            // Stamped first: concurrent requests reuse the last limit instead of all asking the grain.
            count.ReadAt = time.GetTimestamp();
            _ = RefreshLimitAsync(user, count);
        }

        return count.TryEnter() ? null : count.Limit;
    }

    public void Exit(string user)
    {
        if (_users.TryGetValue(user, out var count))
        {
            count.Exit();
        }
    }

    async Task ReadLimitAsync(string user, UserRequestCount count)
    {
        var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
        count.Limit = account?.MaxConcurrentRequests ?? UserLimits.DefaultMaxConcurrentRequests;
    }

    async Task RefreshLimitAsync(string user, UserRequestCount count)
    {
        try
        {
            await ReadLimitAsync(user, count);
        }
        catch (Exception)
        {
            // The cluster may be failing over: keep the last limit and read it again at the next refresh.
        }
    }
}
