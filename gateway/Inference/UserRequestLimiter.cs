using System.Collections.Concurrent;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// What each user holds at this gateway, across all of their models, held below their account's limits: inference
/// requests in flight (<c>max_concurrent_requests</c>), bytes of request bodies (<c>max_request_bytes</c>) and requests
/// held while their deployment has no instance (<c>max_cold_start_requests</c>). Requests and bytes are checked before
/// the body is read, so that one tenant cannot fill the gateway's memory. The limits are read from the user's grain at
/// most once per <see cref="LimitRefresh"/>: a changed limit applies within that time, and the hot path makes no grain call.
/// </summary>
public sealed class UserRequestLimiter(IGrainFactory grains, TimeProvider time)
{
    public static readonly TimeSpan LimitRefresh = TimeSpan.FromSeconds(5);

    readonly ConcurrentDictionary<string, UserRequestCount> _users = new(StringComparer.Ordinal);

    /// <summary>The request's hold on the user's limits (dispose it when the request ends), or null when the user already
    /// has <see cref="ConcurrencyLimit"/> requests in flight here.</summary>
    public async ValueTask<UserHold?> TryEnterAsync(string user)
    {
        var count = _users.GetOrAdd(user, _ => new UserRequestCount());
        if (count.ReadAt == long.MinValue)
        {
            // A user's first request here waits for the limits; later ones use the last ones read while they refresh.
            count.ReadAt = time.GetTimestamp();
            await ReadLimitAsync(user, count);
        }
        else if (time.GetElapsedTime(count.ReadAt) >= LimitRefresh)
        {
            // Stamped first: concurrent requests reuse the last limits instead of all asking the grain.
            count.ReadAt = time.GetTimestamp();
            _ = RefreshLimitAsync(user, count);
        }

        return count.TryEnter() ? new UserHold(count) : null;
    }

    /// <summary>The user's max_concurrent_requests as this gateway last read it.</summary>
    public int ConcurrencyLimit(string user) => _users.TryGetValue(user, out var count) ? count.Limit : UserLimits.DefaultMaxConcurrentRequests;

    async Task ReadLimitAsync(string user, UserRequestCount count)
    {
        var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
        count.Limit = account?.MaxConcurrentRequests ?? UserLimits.DefaultMaxConcurrentRequests;
        count.BytesLimit = account?.MaxRequestBytes ?? UserLimits.DefaultMaxRequestBytes;
        count.ColdStartLimit = account?.MaxColdStartRequests ?? UserLimits.DefaultMaxColdStartRequests;
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
