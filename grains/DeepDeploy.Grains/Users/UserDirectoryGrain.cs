using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains.Storage;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Users;

public sealed class UserDirectoryGrain(
    [PersistentState("users", StorageNames.Default)] IPersistentState<UserDirectoryState> state,
    DeepCopier<UserDirectoryState> copier,
    TimeProvider time) : Grain, IUserDirectoryGrain
{
    readonly SavedState<UserDirectoryState> _store = new(state, copier);

    UserDirectoryState S => _store.State;

    /// <summary>A last-used day changed since the last write: saved with the next change or at deactivation,
    /// so that a lookup never waits for storage.</summary>
    bool _lastUsedDirty;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // State written before named tokens: each user's one token becomes its first named token.
        var legacy = S.TokenHashes.Where(p => p.Value.Length > 0).ToArray();
        foreach (var (user, hash) in legacy)
        {
            S.Tokens.TryAdd(hash, new ApiTokenRecord { User = user, Name = ApiTokens.FirstTokenName, CreatedAt = time.GetUtcNow() });
            S.TokenHashes[user] = "";
        }

        if (legacy.Length > 0)
        {
            await _store.WriteAsync(cancellationToken);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_lastUsedDirty)
        {
            await _store.WriteAsync(cancellationToken);
        }
    }

    public async Task<bool> Add(string name, string tokenHash)
    {
        if (S.TokenHashes.ContainsKey(name))
        {
            return false;
        }

        S.TokenHashes[name] = "";
        S.Tokens[tokenHash] = new ApiTokenRecord { User = name, Name = ApiTokens.FirstTokenName, CreatedAt = time.GetUtcNow() };
        await WriteAsync();
        return true;
    }

    public Task<string?> FindByTokenHash(string tokenHash)
    {
        if (!S.Tokens.TryGetValue(tokenHash, out var token))
        {
            return Task.FromResult<string?>(null);
        }

        var today = new DateTimeOffset(time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
        if (token.LastUsedDay != today)
        {
            token.LastUsedDay = today;
            _lastUsedDirty = true;
        }

        return Task.FromResult<string?>(token.User);
    }

    public Task<IReadOnlyList<string>> List() =>
        Task.FromResult<IReadOnlyList<string>>(S.TokenHashes.Keys.Order(StringComparer.Ordinal).ToArray());

    public async Task<TokenAddResult> AddToken(string user, string tokenName, string tokenHash)
    {
        if (!S.TokenHashes.ContainsKey(user))
        {
            return TokenAddResult.NoSuchUser;
        }

        var owned = TokensOf(user).ToArray();
        if (owned.Any(t => t.Value.Name == tokenName))
        {
            return TokenAddResult.NameTaken;
        }

        if (owned.Length >= ApiTokens.MaxPerUser)
        {
            return TokenAddResult.TooMany;
        }

        S.Tokens[tokenHash] = new ApiTokenRecord { User = user, Name = tokenName, CreatedAt = time.GetUtcNow() };
        await WriteAsync();
        return TokenAddResult.Added;
    }

    public Task<IReadOnlyList<ApiTokenView>?> ListTokens(string user) =>
        Task.FromResult<IReadOnlyList<ApiTokenView>?>(S.TokenHashes.ContainsKey(user)
            ? TokensOf(user)
                .Select(t => new ApiTokenView(t.Value.Name, t.Value.CreatedAt, t.Value.LastUsedDay))
                .OrderBy(t => t.CreatedAt).ThenBy(t => t.Name, StringComparer.Ordinal)
                .ToArray()
            : null);

    public async Task<bool> RevokeToken(string user, string tokenName)
    {
        var hash = TokensOf(user).Where(t => t.Value.Name == tokenName).Select(t => t.Key).FirstOrDefault();
        if (hash is null)
        {
            return false;
        }

        S.Tokens.Remove(hash);
        await WriteAsync();
        return true;
    }

    public async Task<int?> RevokeAllTokens(string user)
    {
        if (!S.TokenHashes.ContainsKey(user))
        {
            return null;
        }

        var hashes = TokensOf(user).Select(t => t.Key).ToArray();
        foreach (var hash in hashes)
        {
            S.Tokens.Remove(hash);
        }

        if (hashes.Length > 0)
        {
            await WriteAsync();
        }

        return hashes.Length;
    }

    IEnumerable<KeyValuePair<string, ApiTokenRecord>> TokensOf(string user) => S.Tokens.Where(t => t.Value.User == user);

    async Task WriteAsync()
    {
        await _store.WriteAsync();
        _lastUsedDirty = false;
    }
}
