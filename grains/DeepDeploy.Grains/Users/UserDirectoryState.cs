namespace DeepDeploy.Grains.Users;

[GenerateSerializer]
public sealed class UserDirectoryState
{
    /// <summary>User name → SHA-256 (hex) of the token made with the user. Written before named tokens existed:
    /// read once into <see cref="Tokens"/>, then only the names are kept (values emptied).</summary>
    [Id(0)] public Dictionary<string, string> TokenHashes { get; set; } = [];

    /// <summary>Token hash → its owner, name and dates.</summary>
    [Id(1)] public Dictionary<string, ApiTokenRecord> Tokens { get; set; } = [];
}
