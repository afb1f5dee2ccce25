using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// Downloads model repositories from a Hugging Face-style hub over its HTTP API
/// (<c>GET api/models/{repo}[/revision/{rev}]</c>, <c>GET|HEAD {repo}/resolve/{commit}/{file}</c>).
/// The endpoint follows the <c>HF_ENDPOINT</c> convention: https://huggingface.co by default, the
/// local hub (e.g. http://127.0.0.1:5080/hub) in the all-in-one deployment.
/// </summary>
/// <remarks>
/// The <see cref="HttpClient"/> is the caller's; for multi-gigabyte files give it a long (or infinite)
/// <see cref="HttpClient.Timeout"/> and cancel through the token instead. Tokens are sent as
/// <c>Authorization: Bearer</c> and never appear in messages.
/// </remarks>
public sealed class HuggingFaceClient
{
    /// <summary>The public hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Environment variable naming the hub endpoint (huggingface_hub's convention).</summary>
    public const string EndpointEnvironmentVariable = "HF_ENDPOINT";

    private const int BufferSize = 1 << 20;
    private readonly HttpClient _http;

    /// <param name="httpClient">The HTTP client to use (not disposed by this class).</param>
    /// <param name="endpoint">Hub base URL; null: <c>HF_ENDPOINT</c> if set, else https://huggingface.co.</param>
    public HuggingFaceClient(HttpClient httpClient, string? endpoint = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        _http = httpClient;
        endpoint ??= EndpointFromEnvironment();
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"hub endpoint '{endpoint}' is not an absolute http(s) URL", nameof(endpoint));
        }

        Endpoint = endpoint.TrimEnd('/');
    }

    /// <summary>The hub base URL, without a trailing slash.</summary>
    public string Endpoint { get; }

    /// <summary>Environment variable holding the default token (huggingface_hub's convention).</summary>
    public const string TokenEnvironmentVariable = "HF_TOKEN";

    /// <summary>The token sent when a call names none (e.g. <c>HF_TOKEN</c>); a call's own token wins.</summary>
    public string? DefaultToken { get; init; }

    /// <summary>Attempts of a call that fails with <see cref="HubErrorKind.Network"/> (connection errors, timeouts,
    /// 5xx/429, interrupted or corrupt downloads) before it fails for good. 401/403/404 are never retried.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Delay before the first retry; doubled at each retry up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called before each retry with the attempt that failed (1-based) and its error (for logs).</summary>
    public Action<int, HubException>? OnRetry { get; init; }

    /// <summary>Network failures retried with exponential backoff (Polly); built on first use, after the init properties.</summary>
    private ResiliencePipeline Retry => _retry ??= MaxAttempts <= 1
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is HubException { Kind: HubErrorKind.Network } && !args.Context.CancellationToken.IsCancellationRequested),
            MaxRetryAttempts = MaxAttempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = false,
            Delay = RetryDelay,
            MaxDelay = MaxRetryDelay,
            OnRetry = args =>
            {
                OnRetry?.Invoke(args.AttemptNumber + 1, (HubException)args.Outcome.Exception!);
                return ValueTask.CompletedTask;
            },
        }).Build();

    private ResiliencePipeline? _retry;

    /// <summary>Runs <paramref name="call"/> through <see cref="Retry"/>; the last failure's message says how many
    /// attempts were made.</summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var attempts = 0;
        try
        {
            return await Retry.ExecuteAsync(async _ =>
            {
                attempts++;
                return await call().ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Network && attempts > 1 && !ct.IsCancellationRequested)
        {
            throw new HubException(e.Kind, e.Repo, e.Endpoint, $"{e.Message} (gave up after {attempts} attempts)", e.StatusCode, e);
        }
    }

    /// <summary><c>HF_ENDPOINT</c> when set and not blank, else <see cref="DefaultEndpoint"/>.</summary>
    public static string EndpointFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EndpointEnvironmentVariable);
        return string.IsNullOrWhiteSpace(value) ? DefaultEndpoint : value.Trim();
    }

    /// <summary>
    /// Resolves <paramref name="revision"/> (null: <c>main</c>) of <paramref name="repo"/> to a commit id and
    /// lists its files with sizes (from <c>?blobs=true</c>; a HEAD per file when the hub omits a size).
    /// </summary>
    /// <exception cref="ArgumentException">The repo id is not <c>owner/name</c>.</exception>
    /// <exception cref="HubException">Any hub or transport failure.</exception>
    public Task<RepoSnapshot> ResolveAsync(string repo, string? revision, string? token, CancellationToken ct)
    {
        SplitRepo(repo);
        return RetryAsync(() => ResolveOnceAsync(repo, revision, token, ct), ct);
    }

    private async Task<RepoSnapshot> ResolveOnceAsync(string repo, string? revision, string? token, CancellationToken ct)
    {
        var (owner, name) = SplitRepo(repo);
        var rev = string.IsNullOrWhiteSpace(revision) ? "main" : revision.Trim();
        var url = revision is null || string.IsNullOrWhiteSpace(revision)
            ? $"{Endpoint}/api/models/{owner}/{name}?blobs=true"
            : $"{Endpoint}/api/models/{owner}/{name}/revision/{Uri.EscapeDataString(rev)}?blobs=true";

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await SendAsync(request, token, repo, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, repo, rev, file: null, ct).ConfigureAwait(false);
        }

        string commit;
        var files = new List<RepoFile>();
        var missingSizes = new List<string>();
        try
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            var root = json.RootElement;
            commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString()! : "";
            if (!IsHex(commit, 40))
            {
                throw new FormatException("no 40-hex 'sha' in the answer");
            }

            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    var path = sibling.GetProperty("rfilename").GetString() ?? "";
                    if (!IsSafeRelativePath(path))
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

                    if (size is null)
                    {
                        missingSizes.Add(path);
                    }

                    files.Add(new RepoFile(path, size ?? -1, sha256));
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException(HubErrorKind.Network, repo, Endpoint,
                $"weights repo '{repo}' at {Endpoint}: malformed model info for revision '{rev}': {ex.Message}", (int)response.StatusCode, ex);
        }

        for (var i = 0; i < files.Count; i++)
        {
            if (files[i].Size < 0)
            {
                var (size, _) = await HeadAsync(repo, commit, files[i].Path, token, ct).ConfigureAwait(false);
                files[i] = files[i] with { Size = size };
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new RepoSnapshot(repo, rev, commit.ToLowerInvariant(), files);
    }

    /// <summary>
    /// Downloads one file of <paramref name="repo"/> at <paramref name="commit"/> to <paramref name="destinationPath"/>.
    /// Bytes go to <c>destinationPath + ".incomplete"</c> first; an existing partial file is resumed with a
    /// <c>Range</c> request. The final size (and the content hash when the hub's ETag is a sha256 or git blob id)
    /// is verified before the file is renamed into place atomically.
    /// </summary>
    /// <param name="progress">Receives the number of bytes of the file on disk so far (resumed bytes included).</param>
    /// <exception cref="HubException">Any hub or transport failure, or a size/hash mismatch.</exception>
    public Task DownloadFileAsync(string repo, string commit, string file, string? token, string destinationPath,
        IProgress<long>? progress, CancellationToken ct) =>
        RetryAsync(async () =>
        {
            await DownloadFileOnceAsync(repo, commit, file, token, destinationPath, progress, ct).ConfigureAwait(false);
            return true;
        }, ct);

    private async Task DownloadFileOnceAsync(string repo, string commit, string file, string? token, string destinationPath,
        IProgress<long>? progress, CancellationToken ct)
    {
        SplitRepo(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(commit);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationPath);
        if (!IsSafeRelativePath(file))
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

        var (expectedSize, etag) = await HeadAsync(repo, commit, file, token, ct).ConfigureAwait(false);
        var url = ResolveUrl(repo, commit, file);

        for (var attempt = 0; ; attempt++)
        {
            var existing = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0L;
            if (existing > expectedSize)
            {
                File.Delete(incomplete);
                existing = 0;
            }

            using var hash = CreateVerifier(etag, expectedSize);
            if (existing > 0 && hash is not null)
            {
                await HashExistingAsync(incomplete, hash.Hash, ct).ConfigureAwait(false);
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

                using var response = await SendAsync(request, token, repo, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && attempt == 0)
                {
                    restart = true;
                }
                else if (!response.IsSuccessStatusCode)
                {
                    throw await ErrorAsync(response, repo, commit, file, ct).ConfigureAwait(false);
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

                    await CopyAsync(response, repo, file, incomplete, append, existing, expectedSize, hash?.Hash, progress, ct).ConfigureAwait(false);
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
                    throw new HubException(HubErrorKind.Network, repo, Endpoint,
                        $"download of '{file}' from weights repo '{repo}' at {Endpoint} failed verification: {problem}");
                }
            }
            else
            {
                File.Delete(incomplete);
            }
        }
    }

    /// <summary>The size and ETag the hub reports for one file (a HEAD on its resolve URL, retried like any call).</summary>
    public Task<(long Size, string? ETag)> GetFileInfoAsync(string repo, string commit, string file, string? token, CancellationToken ct) =>
        RetryAsync(() => HeadAsync(repo, commit, file, token, ct), ct);

    /// <summary>HEAD on the resolve URL: the file's size and normalised ETag (X-Linked-* preferred, as huggingface_hub does).</summary>
    private async Task<(long Size, string? ETag)> HeadAsync(string repo, string commit, string file, string? token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, ResolveUrl(repo, commit, file));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        using var response = await SendAsync(request, token, repo, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, repo, commit, file, ct).ConfigureAwait(false);
        }

        long? size = null;
        if (response.Headers.TryGetValues("X-Linked-Size", out var linkedSizes)
            && long.TryParse(linkedSizes.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var linkedSize))
        {
            size = linkedSize;
        }

        size ??= response.Content.Headers.ContentLength;
        if (size is null)
        {
            throw new HubException(HubErrorKind.Network, repo, Endpoint,
                $"weights repo '{repo}' at {Endpoint}: no size for '{file}' at revision '{commit}' (no Content-Length)", (int)response.StatusCode);
        }

        string? etag = null;
        if (response.Headers.TryGetValues("X-Linked-Etag", out var linkedEtags))
        {
            etag = linkedEtags.FirstOrDefault();
        }

        etag ??= response.Headers.ETag?.Tag;
        if (etag is null && response.Headers.TryGetValues("ETag", out var rawEtags))
        {
            etag = rawEtags.FirstOrDefault();
        }

        return (size.Value, NormalizeEtag(etag));
    }

    /// <summary>Appends the body to <paramref name="path"/>, never past <paramref name="expectedSize"/>: a hub that sends more
    /// than it reported gets <see cref="HubErrorKind.TooLarge"/> and the partial file is deleted.</summary>
    private async Task CopyAsync(HttpResponseMessage response, string repo, string file, string path, bool append, long existing,
        long expectedSize, IncrementalHash? hash, IProgress<long>? progress, CancellationToken ct)
    {
        var start = append ? existing : 0;
        if (start + response.Content.Headers.ContentLength > expectedSize)
        {
            throw TooLarge(repo, file, path, expectedSize);
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
                    throw TooLarge(repo, file, path, expectedSize);
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
            throw new HubException(HubErrorKind.Network, repo, Endpoint,
                $"download from weights repo '{repo}' at {Endpoint} was interrupted: {ex.Message}", (int)response.StatusCode, ex);
        }
    }

    private HubException TooLarge(string repo, string file, string path, long expectedSize)
    {
        File.Delete(path);
        return new HubException(HubErrorKind.TooLarge, repo, Endpoint,
            $"file '{file}' of weights repo '{repo}' is larger than the {expectedSize} bytes the hub reported; download stopped");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string? token, string repo,
        HttpCompletionOption completion, CancellationToken ct)
    {
        token = string.IsNullOrWhiteSpace(token) ? DefaultToken : token;
        if (!string.IsNullOrWhiteSpace(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        }

        try
        {
            return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new HubException(HubErrorKind.Network, repo, Endpoint,
                $"could not reach {Endpoint} for weights repo '{repo}': {ex.Message}", innerException: ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new HubException(HubErrorKind.Network, repo, Endpoint,
                $"request to {Endpoint} for weights repo '{repo}' timed out", innerException: ex);
        }
    }

    private async Task<HubException> ErrorAsync(HttpResponseMessage response, string repo, string revision, string? file, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var hubMessage = response.Headers.TryGetValues("X-Error-Message", out var messages) ? messages.FirstOrDefault() : null;
        if (hubMessage is null && response.RequestMessage?.Method != HttpMethod.Head)
        {
            hubMessage = await TryReadErrorBodyAsync(response, ct).ConfigureAwait(false);
        }

        var kind = code switch
        {
            "RepoNotFound" => HubErrorKind.RepoNotFound,
            "RevisionNotFound" => HubErrorKind.RevisionNotFound,
            "EntryNotFound" => HubErrorKind.EntryNotFound,
            "GatedRepo" => HubErrorKind.Unauthorized,
            _ => response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => HubErrorKind.Unauthorized,
                HttpStatusCode.NotFound => file is null ? HubErrorKind.RepoNotFound : HubErrorKind.EntryNotFound,
                _ => HubErrorKind.Network,
            },
        };

        var detail = string.IsNullOrWhiteSpace(hubMessage) ? "" : $": {hubMessage.Trim()}";
        var message = kind switch
        {
            // Whether a repo exists, is private or gated, and what the hub says of it, is not the caller's to learn.
            HubErrorKind.RepoNotFound or HubErrorKind.Unauthorized => NotAccessible(repo),
            HubErrorKind.RevisionNotFound => $"revision '{revision}' of weights repo '{repo}' not found at {Endpoint} (HTTP {status})",
            HubErrorKind.EntryNotFound => $"file '{file}' of weights repo '{repo}' not found at revision '{revision}' at {Endpoint} (HTTP {status})",
            _ => $"weights repo '{repo}' at {Endpoint}: unexpected HTTP {status} {response.ReasonPhrase}{detail}",
        };
        return new HubException(kind, repo, Endpoint, message, status);
    }

    /// <summary>The whole message for a repo the caller could not read (HTTP 401, 403 or 404).</summary>
    public static string NotAccessible(string repo) => $"weights repo '{repo}': repository not found or not accessible";

    private static async Task<string?> TryReadErrorBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (body.Length > 4096)
            {
                body = body[..4096];
            }

            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private string ResolveUrl(string repo, string commit, string file) =>
        $"{Endpoint}/{repo}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    private static (string Owner, string Name) SplitRepo(string repo)
    {
        var parts = (repo ?? "").Split('/');
        if (parts.Length != 2 || !IsValidRepoPart(parts[0]) || !IsValidRepoPart(parts[1]))
        {
            throw new ArgumentException($"'{repo}' is not a valid repo id (expected owner/name)", nameof(repo));
        }

        return (parts[0], parts[1]);
    }

    private static bool IsValidRepoPart(string part) =>
        part.Length is > 0 and <= 96 && part[0] != '.' && part[0] != '-'
        && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsSafeRelativePath(string? path) =>
        !string.IsNullOrEmpty(path) && !path.Contains('\\') && !path.Contains('\0') && !Path.IsPathRooted(path)
        && path.Split('/').All(s => s.Length > 0 && s != "." && s != "..");

    private static bool IsHex(string value, int length) => value.Length == length && value.All(char.IsAsciiHexDigit);

    private static string? NormalizeEtag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }

        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Trim('"');
    }

    private static async Task HashExistingAsync(string path, IncrementalHash hash, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        var buffer = new byte[BufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }
    }

    /// <summary>A sha256 ETag (LFS files) or a 40-hex git blob id (small files): both are checkable.</summary>
    private static Verifier? CreateVerifier(string? etag, long size)
    {
        if (etag is null)
        {
            return null;
        }

        if (IsHex(etag, 64))
        {
            return new Verifier(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), etag, null);
        }

        if (IsHex(etag, 40))
        {
            var verifier = new Verifier(IncrementalHash.CreateHash(HashAlgorithmName.SHA1), etag, Encoding.ASCII.GetBytes($"blob {size}\0"));
            verifier.AppendGitHeader();
            return verifier;
        }

        return null;
    }

    private sealed class Verifier(IncrementalHash hash, string expected, byte[]? gitHeader) : IDisposable
    {
        public IncrementalHash Hash { get; } = hash;

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
}
