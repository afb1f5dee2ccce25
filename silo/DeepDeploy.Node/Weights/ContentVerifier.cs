using System.Security.Cryptography;
using System.Text;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// Checks a downloaded file against the hub's ETag: a sha256 (LFS files) or a 40-hex git blob id (small files, hashed
/// with their <c>blob {size}\0</c> header); any other ETag cannot be checked, and only the size is.
/// </summary>
internal sealed class ContentVerifier(IncrementalHash hash, string expected, byte[]? gitHeader) : IDisposable
{
    const int BufferSize = 1 << 20;

    public IncrementalHash Hash { get; } = hash;

    /// <summary>A verifier for <paramref name="etag"/>, or null when it is not a checkable hash.</summary>
    public static ContentVerifier? For(string? etag, long size)
    {
        if (etag is null)
        {
            return null;
        }

        if (RepoPaths.IsHex(etag, 64))
        {
            return new ContentVerifier(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), etag, null);
        }

        if (RepoPaths.IsHex(etag, 40))
        {
            var verifier = new ContentVerifier(IncrementalHash.CreateHash(HashAlgorithmName.SHA1), etag, Encoding.ASCII.GetBytes($"blob {size}\0"));
            verifier.AppendGitHeader();
            return verifier;
        }

        return null;
    }

    /// <summary>Hashes the bytes already on disk, before a download resumes after them.</summary>
    public async Task AppendFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        var buffer = new byte[BufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            Hash.AppendData(buffer, 0, read);
        }
    }

    public void AppendGitHeader()
    {
        if (gitHeader is not null)
        {
            Hash.AppendData(gitHeader);
        }
    }

    public bool Matches() => string.Equals(Convert.ToHexStringLower(Hash.GetHashAndReset()), expected, StringComparison.OrdinalIgnoreCase);

    public void Dispose() => Hash.Dispose();
}
