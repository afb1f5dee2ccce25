namespace DeepDeploy.Node.Weights;

/// <summary>A repository resolved to one commit: the files to download and their sizes.</summary>
/// <param name="Repo">Repository id, <c>owner/name</c>.</param>
/// <param name="Revision">The revision asked for (<c>main</c> when none was given).</param>
/// <param name="Commit">The 40-hex commit id the revision resolved to; download with this, not the branch.</param>
/// <param name="Files">The files, sorted by path.</param>
public sealed record RepoSnapshot(string Repo, string Revision, string Commit, IReadOnlyList<RepoFile> Files)
{
    /// <summary>Sum of all file sizes in bytes.</summary>
    public long TotalSize => Files.Sum(f => f.Size);
}
