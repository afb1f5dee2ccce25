namespace DeepDeploy.Node.Weights;

/// <summary>
/// One file of a repository at a commit.
/// </summary>
/// <param name="Path">Repository-relative path with '/' separators, e.g. <c>model-00001-of-00002.safetensors</c>.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">LFS sha256 (lower-case hex) when the hub reports one, else null.</param>
public sealed record RepoFile(string Path, long Size, string? Sha256);
