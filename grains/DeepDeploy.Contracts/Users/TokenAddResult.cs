namespace DeepDeploy.Contracts.Users;

/// <summary>The outcome of <see cref="IUserDirectoryGrain.AddToken"/>.</summary>
public enum TokenAddResult
{
    Added,
    NoSuchUser,
    NameTaken,

    /// <summary>The user already has <see cref="ApiTokens.MaxPerUser"/> tokens.</summary>
    TooMany,
}
