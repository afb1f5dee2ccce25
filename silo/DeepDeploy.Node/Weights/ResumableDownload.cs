using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// One file's download from the hub, resumable and checked. Bytes go to <c>destination + ".incomplete"</c> first; an
/// existing partial file is resumed with a <c>Range</c> request (<c>If-Range</c> on the ETag), and a hub that ignores the
/// range restarts it from byte 0. The size, and the content hash when the ETag is one (<see cref="ContentVerifier"/>), are
/// checked before the file is renamed into place; a file that fails the check is downloaded once more from scratch.
/// </summary>
internal static class ResumableDownload
{
    const int BufferSize = 1 << 20;

    public static async Task RunAsync(HuggingFaceClient hub, string repo, string commit, string file, string? token, string destinationPath,
        IProgress<long>? progress, CancellationToken ct)
    {
        RepoPaths.Split(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(commit);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationPath);
        if (!RepoPaths.IsSafeRelative(file))
        {
            throw new ArgumentException($"'{file}' is not a safe repository-relative file path", nameof(file));
        }

        var destination = Path.GetFullPath(destinationPath);
        var incomplete = destination + ".incomplete";
        var directory = Path.GetDirectoryName(destination);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var (expectedSize, etag) = await hub.HeadAsync(repo, commit, file, token, ct).ConfigureAwait(false);
        var url = hub.ResolveUrl(repo, commit, file);

        for (var attempt = 0; ; attempt++)
        {
            var existing = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0L;
            if (existing > expectedSize)
            {
                File.Delete(incomplete);
                existing = 0;
            }

            using var hash = ContentVerifier.For(etag, expectedSize);
            if (existing > 0 && hash is not null)
            {
                await hash.AppendFileAsync(incomplete, ct).ConfigureAwait(false);
            }

            progress?.Report(existing);
            var restart = false;
            if (existing < expectedSize)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (existing > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(existing, null);
                    if (etag is not null)
                    {
                        request.Headers.TryAddWithoutValidation("If-Range", $"\"{etag}\"");
                    }
                }

                using var response = await hub.SendAsync(request, token, repo, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && attempt == 0)
                {
                    restart = true;
                }
                else if (!response.IsSuccessStatusCode)
                {
                    throw await HubErrors.FromResponseAsync(response, hub.Endpoint, repo, commit, file, ct).ConfigureAwait(false);
                }
                else
                {
                    var append = response.StatusCode == HttpStatusCode.PartialContent
                        && response.Content.Headers.ContentRange?.From == existing;
                    if (!append && existing > 0)
                    {
                        // The hub ignored the range (or the file changed): start over from byte 0.
                        existing = 0;
                        hash?.Hash.GetHashAndReset();
                        hash?.AppendGitHeader();
                        progress?.Report(0);
                    }

                    await CopyAsync(hub.Endpoint, response, repo, file, incomplete, append, existing, expectedSize, hash?.Hash, progress, ct).ConfigureAwait(false);
                }
            }

            if (!restart)
            {
                if (!File.Exists(incomplete))
                {
                    File.Create(incomplete).Dispose(); // an empty file needs no GET
                }

                var actualSize = new FileInfo(incomplete).Length;
                string? problem = null;
                if (actualSize != expectedSize)
                {
                    problem = $"size {actualSize} bytes, expected {expectedSize}";
                }
                else if (hash is not null && !hash.Matches())
                {
                    problem = $"content hash does not match ETag {etag}";
                }

                if (problem is null)
                {
                    File.Move(incomplete, destination, overwrite: true);
                    return;
                }

                File.Delete(incomplete);
                if (attempt > 0)
                {
                    throw new HubException(HubErrorKind.Network, repo, hub.Endpoint,
                        $"download of '{file}' from weights repo '{repo}' at {hub.Endpoint} failed verification: {problem}");
                }
            }
            else
            {
                File.Delete(incomplete);
            }
        }
    }

    /// <summary>Appends the body to <paramref name="path"/>, never past <paramref name="expectedSize"/>: a hub that sends more
    /// than it reported gets <see cref="HubErrorKind.TooLarge"/> and the partial file is deleted.</summary>
    static async Task CopyAsync(string endpoint, HttpResponseMessage response, string repo, string file, string path, bool append, long existing,
        long expectedSize, IncrementalHash? hash, IProgress<long>? progress, CancellationToken ct)
    {
        var start = append ? existing : 0;
        if (start + response.Content.Headers.ContentLength > expectedSize)
        {
            throw TooLarge(endpoint, repo, file, path, expectedSize);
        }

        try
        {
            await using var source = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var target = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            var buffer = new byte[BufferSize];
            var total = existing;
            int read;
            while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                if (total + read > expectedSize)
                {
                    await target.DisposeAsync().ConfigureAwait(false);
                    throw TooLarge(endpoint, repo, file, path, expectedSize);
                }

                await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                hash?.AppendData(buffer, 0, read);
                total += read;
                progress?.Report(total);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            // The partial file stays: the next call resumes it.
            throw new HubException(HubErrorKind.Network, repo, endpoint,
                $"download from weights repo '{repo}' at {endpoint} was interrupted: {ex.Message}", (int)response.StatusCode, ex);
        }
    }

    static HubException TooLarge(string endpoint, string repo, string file, string path, long expectedSize)
    {
        File.Delete(path);
        return new HubException(HubErrorKind.TooLarge, repo, endpoint,
            $"file '{file}' of weights repo '{repo}' is larger than the {expectedSize} bytes the hub reported; download stopped");
    }
}
