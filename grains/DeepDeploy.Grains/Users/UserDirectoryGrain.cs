using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Grains.Users;

public sealed class UserDirectoryGrain(
    [PersistentState("users", StorageNames.Default)] IPersistentState<UserDirectoryState> state) : Grain, IUserDirectoryGrain
{
    Dictionary<string, string>? _byHash;

    public async Task<bool> Add(string name, string tokenHash)
    {
        if (state.State.TokenHashes.ContainsKey(name))
        {
            return false;
        }

        state.State.TokenHashes[name] = tokenHash;
        await state.WriteStateAsync();
        _byHash = null;
        return true;
    }

    public Task<string?> FindByTokenHash(string tokenHash)
    {
        _byHash ??= state.State.TokenHashes.ToDictionary(p => p.Value, p => p.Key);
        return Task.FromResult(_byHash.GetValueOrDefault(tokenHash));
    }

    public Task<IReadOnlyList<string>> List() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.TokenHashes.Keys.Order(StringComparer.Ordinal).ToArray());
}
