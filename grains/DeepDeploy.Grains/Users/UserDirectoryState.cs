namespace DeepDeploy.Grains.Users;

[GenerateSerializer]
public sealed class UserDirectoryState
{
    /// <summary>User name → SHA-256 of its token (hex).</summary>
    [Id(0)] public Dictionary<string, string> TokenHashes { get; set; } = [];
}
