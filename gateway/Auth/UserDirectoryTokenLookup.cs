using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Auth;

/// <summary>The production <see cref="ITokenLookup"/>: the cluster's user directory grain.</summary>
public sealed class UserDirectoryTokenLookup(IGrainFactory grains) : ITokenLookup
{
    public Task<string?> FindUserAsync(string tokenHash) =>
        grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).FindByTokenHash(tokenHash);
}
