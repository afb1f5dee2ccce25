namespace DeepDeploy.Contracts.Users;

/// <summary>All users and their API tokens' hashes (one grain, key <see cref="Key"/>). Tokens are never stored in clear.</summary>
public interface IUserDirectoryGrain : IGrainWithStringKey
{
    const string Key = "users";

    /// <summary>Creates the user with its first token (named <see cref="ApiTokens.FirstTokenName"/>); false when the name is taken.</summary>
    Task<bool> Add(string name, string tokenHash);

    /// <summary>The user a live token belongs to, or null.</summary>
    Task<string?> FindByTokenHash(string tokenHash);

    Task<IReadOnlyList<string>> List();

    Task<TokenAddResult> AddToken(string user, string tokenName, string tokenHash);

    /// <summary>The user's tokens, without their hashes; null when there is no such user.</summary>
    Task<IReadOnlyList<ApiTokenView>?> ListTokens(string user);

    /// <summary>False when the user has no token of that name.</summary>
    Task<bool> RevokeToken(string user, string tokenName);

    /// <summary>How many tokens were revoked; null when there is no such user.</summary>
    Task<int?> RevokeAllTokens(string user);
}
