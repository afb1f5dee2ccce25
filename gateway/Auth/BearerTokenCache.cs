using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>
/// Bearer token → user name (or unknown), so that a token is hashed and looked up in the directory at most once per
/// <see cref="AuthOptions.TokenCacheTime"/> (a revocation is seen within that time plus one look-up) instead of on
/// every request. Looked up by the header's characters without copying them; entries hold the token only while they
/// are usable, and the map is bounded (<see cref="BoundedMap"/>).
/// A known token past its cache time is still answered at once while one background look-up re-validates it
/// (stale-while-revalidate): requests never wait on the directory for a token that was valid, and when the directory
/// cannot answer (its silo just died) the token keeps working for up to <see cref="AuthOptions.StaleTokenGrace"/>
/// instead of every request failing with 503.
/// </summary>
public sealed class BearerTokenCache
{
    readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    readonly ITokenLookup _lookup;
    readonly TimeProvider _time;
    readonly IOptions<AuthOptions> _options;
    readonly ILogger<BearerTokenCache> _log;

    public BearerTokenCache(ITokenLookup lookup, TimeProvider time, IOptions<AuthOptions> options, ILogger<BearerTokenCache> log)
    {
        _lookup = lookup;
        _time = time;
        _options = options;
        _log = log;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _entries.Count;

    public ValueTask<string?> FindUserAsync(ReadOnlySpan<char> token) =>
        Cached(token) is { } entry ? new(entry.User) : UserOf(LookUpAsync(token.ToString()));

    /// <summary>The token's caller (its user, with the user role), or null for an unknown token: built once per
    /// look-up and shared by the token's requests until the next one, so that no claims are allocated or enumerated
    /// per request. Nothing in the gateway changes a principal (claims transformation works on a copy, see
    /// docs/security.md).</summary>
    public ValueTask<BearerCaller?> FindCallerAsync(ReadOnlySpan<char> token) =>
        Cached(token) is { } entry ? new(entry.Caller) : CallerOf(LookUpAsync(token.ToString()));

    /// <summary>The entry that answers <paramref name="token"/> without waiting: fresh, or known and re-validating.</summary>
    Entry? Cached(ReadOnlySpan<char> token)
    {
        var now = _time.GetTimestamp();
        if (_bySpan.TryGetValue(token, out var entry))
        {
            if (entry.FreshUntil > now)
            {
                return entry;
            }

            if (entry.User is not null && entry.UsableUntil > now)
            {
                if (Interlocked.Exchange(ref entry.Revalidating, 1) == 0)
                {
                    _ = RevalidateAsync(token.ToString(), entry);
                }

                return entry;
            }
        }

        return null;
    }

    static async ValueTask<string?> UserOf(Task<Entry> lookUp) => (await lookUp).User;

    static async ValueTask<BearerCaller?> CallerOf(Task<Entry> lookUp) => (await lookUp).Caller;

    async Task<Entry> LookUpAsync(string token)
    {
        var now = _time.GetTimestamp();
        var user = await _lookup.FindUserAsync(TokenHasher.Hash(token));
        return Remember(token, user, now);
    }

    async Task RevalidateAsync(string token, Entry stale)
    {
        try
        {
            var user = await _lookup.FindUserAsync(TokenHasher.Hash(token));
            Remember(token, user, _time.GetTimestamp());
        }
        catch (Exception e)
        {
            // The entry stays: the token is served until its grace ends, and the next request tries again.
            _log.LogWarning(e, "Could not re-validate the token of {User}; serving it from the cache for up to {Grace}",
                stale.User, _options.Value.StaleTokenGrace);
            Volatile.Write(ref stale.Revalidating, 0);
        }
    }

    Entry Remember(string token, string? user, long now)
    {
        var o = _options.Value;
        BoundedMap.MakeRoom(_entries, o.MaxCachedTokens, e => e.UsableUntil <= now);
        var fresh = now + Ticks(user is null ? o.UnknownTokenCacheTime : o.TokenCacheTime);
        return _entries[token] = new Entry(user, fresh, user is null ? fresh : fresh + Ticks(o.StaleTokenGrace));
    }

    long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    sealed class Entry(string? user, long freshUntil, long usableUntil)
    {
        public string? User { get; } = user;

        public BearerCaller? Caller { get; } = user is null ? null : new BearerCaller(user, Roles.User);

        /// <summary>Answered without asking the directory until then.</summary>
        public long FreshUntil { get; } = freshUntil;

        /// <summary>A known token is answered while it is re-validated until then.</summary>
        public long UsableUntil { get; } = usableUntil;

        /// <summary>1 while one request's background look-up is re-validating this entry.</summary>
        public int Revalidating;
    }
}
