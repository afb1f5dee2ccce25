using System.Text.Json;

namespace DeepDeploy.Node.Weights;

/// <summary>Reads the hub's model info (<c>GET api/models/{repo}?blobs=true</c>): the commit and the files with their
/// sizes and LFS hashes. A missing size is -1 (the caller asks the hub per file); an unsafe file name fails the answer.</summary>
internal static class ModelInfo
{
    /// <exception cref="FormatException">No commit id, or an unsafe file name.</exception>
    /// <exception cref="JsonException">Not JSON.</exception>
    /// <exception cref="KeyNotFoundException">A file without its name.</exception>
    /// <exception cref="InvalidOperationException">A field of the wrong type.</exception>
    public static (string Commit, List<RepoFile> Files) Read(Stream body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString()! : "";
        if (!RepoPaths.IsHex(commit, 40))
        {
            throw new FormatException("no 40-hex 'sha' in the answer");
        }

        var files = new List<RepoFile>();
        if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
        {
            foreach (var sibling in siblings.EnumerateArray())
            {
                var path = sibling.GetProperty("rfilename").GetString() ?? "";
                if (!RepoPaths.IsSafeRelative(path))
                {
                    throw new FormatException($"unsafe file name '{path}' in the answer");
                }

                string? sha256 = null;
                long? size = sibling.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
                if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    if (lfs.TryGetProperty("sha256", out var lfsSha) && lfsSha.ValueKind == JsonValueKind.String)
                    {
                        sha256 = lfsSha.GetString()?.ToLowerInvariant();
                    }

                    if (lfs.TryGetProperty("size", out var lfsSize) && lfsSize.ValueKind == JsonValueKind.Number)
                    {
                        size = lfsSize.GetInt64();
                    }
                }

                files.Add(new RepoFile(path, size ?? -1, sha256));
            }
        }

        return (commit, files);
    }
}
