namespace DeepDeploy.Contracts.Users;

/// <summary>All users and their token hashes (one grain, key <see cref="Key"/>). Tokens are never stored in clear.</summary>
public interface IUserDirectoryGrain : IGrainWithStringKey
{
    const string Key = "users";

    /// <summary>False when the name is taken.</summary>
    Task<bool> Add(string name, string tokenHash);

    Task<string?> FindByTokenHash(string tokenHash);

    Task<IReadOnlyList<string>> List();
}
