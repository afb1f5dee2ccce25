namespace DeepDeploy.Contracts.Users;

public static class ApiTokens
{
    /// <summary>The name of the token made with the user.</summary>
    public const string FirstTokenName = "default";

    /// <summary>Bounds a user's share of the directory's state.</summary>
    public const int MaxPerUser = 20;
}
