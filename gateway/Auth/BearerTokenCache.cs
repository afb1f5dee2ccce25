using System.Collections.Concurrent;
using DeepDeploy.Contracts.Users;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>
/// Bearer token → user name (or unknown), so that a token is hashed and looked up in the directory at most once per
/// <see cref="AuthOptions.TokenCacheTime"/> (a revocation is seen within that time, as before) instead of on every
/// request. Looked up by the header's characters without copying them; entries hold the token only while they are
/// valid, and the map is bounded (<see cref="BoundedMap"/>).
/// </summary>
public sealed class BearerTokenCache
{
    readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    readonly IGrainFactory _grains;
    readonly TimeProvider _time;
    readonly IOptions<AuthOptions> _options;

    public BearerTokenCache(IGrainFactory grains, TimeProvider time, IOptions<AuthOptions> options)
    {
        _grains = grains;
        _time = time;
        _options = options;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _entries.Count;

    public ValueTask<string?> FindUserAsync(ReadOnlySpan<char> token)
    {
        var now = _time.GetTimestamp();
        return _bySpan.TryGetValue(token, out var entry) && entry.Expires > now
            ? new(entry.User)
            : LookUpAsync(token.ToString(), now);
    }

    async ValueTask<string?> LookUpAsync(string token, long now)
    {
        var user = await _grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).FindByTokenHash(TokenHasher.Hash(token));
        var o = _options.Value;
        BoundedMap.MakeRoom(_entries, o.MaxCachedTokens, e => e.Expires <= now);
        var ttl = user is null ? o.UnknownTokenCacheTime : o.TokenCacheTime;
        _entries[token] = new Entry(user, now + (long)(ttl.TotalSeconds * _time.TimestampFrequency));
        return user;
    }

    sealed record Entry(string? User, long Expires);
}
