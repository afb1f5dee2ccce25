using System.Collections.Concurrent;
using DeepDeploy.Contracts.Users;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Token hash → user name (or "unknown"), kept in gateway memory for a short time, so that most requests
/// cost no grain call while a revocation still reaches every gateway within <see cref="AuthOptions.TokenCacheTime"/>.
/// Bounded: a flood of distinct tokens makes it start over rather than grow.</summary>
public sealed class UserTokenCache(IGrainFactory grains, TimeProvider time, IOptions<AuthOptions> options)
{
    readonly ConcurrentDictionary<string, Entry> _entries = new();

    public async ValueTask<string?> FindUserAsync(string tokenHash)
    {
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(tokenHash, out var entry) && entry.Expires > now)
        {
            return entry.User;
        }

        var user = await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).FindByTokenHash(tokenHash);
        var o = options.Value;
        BoundedMap.MakeRoom(_entries, o.MaxCachedTokens, e => e.Expires <= now);
        _entries[tokenHash] = new Entry(user, now + (user is null ? o.UnknownTokenCacheTime : o.TokenCacheTime));
        return user;
    }

    public int Count => _entries.Count;

    sealed record Entry(string? User, DateTimeOffset Expires);
}
