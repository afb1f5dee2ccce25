using System.Collections.Concurrent;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Token hash → user name, kept in gateway memory so that a request costs no grain call once its
/// token was seen. Tokens are never revoked yet, so entries never go stale.</summary>
public sealed class UserTokenCache(IGrainFactory grains)
{
    readonly ConcurrentDictionary<string, string> _users = new();

    public async ValueTask<string?> FindUserAsync(string tokenHash)
    {
        if (_users.TryGetValue(tokenHash, out var name))
        {
            return name;
        }

        name = await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).FindByTokenHash(tokenHash);
        if (name is not null)
        {
            _users[tokenHash] = name;
        }

        return name;
    }
}
