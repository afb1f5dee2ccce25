using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

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
/// <c>Authorization: Bearer</c> and never appear in messages. Its parts: <see cref="ModelInfo"/> reads a listing,
/// <see cref="ResumableDownload"/> fetches one file, <see cref="HubErrors"/> maps refusals, <see cref="HubRetry"/> retries.
/// </remarks>
public sealed class HuggingFaceClient
{
    /// <summary>The public hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Environment variable naming the hub endpoint (huggingface_hub's convention).</summary>
    public const string EndpointEnvironmentVariable = "HF_ENDPOINT";

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

    /// <summary>Network failures retried with exponential backoff; built on first use, after the init properties.</summary>
    private HubRetry Retry => _retry ??= new HubRetry(MaxAttempts, RetryDelay, MaxRetryDelay, OnRetry);

    private HubRetry? _retry;

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
        RepoPaths.Split(repo);
        return Retry.RunAsync(() => ResolveOnceAsync(repo, revision, token, ct), ct);
    }

    private async Task<RepoSnapshot> ResolveOnceAsync(string repo, string? revision, string? token, CancellationToken ct)
    {
        var (owner, name) = RepoPaths.Split(repo);
        var rev = string.IsNullOrWhiteSpace(revision) ? "main" : revision.Trim();
        var url = revision is null || string.IsNullOrWhiteSpace(revision)
            ? $"{Endpoint}/api/models/{owner}/{name}?blobs=true"
            : $"{Endpoint}/api/models/{owner}/{name}/revision/{Uri.EscapeDataString(rev)}?blobs=true";

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await SendAsync(request, token, repo, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await HubErrors.FromResponseAsync(response, Endpoint, repo, rev, file: null, ct).ConfigureAwait(false);
        }

        string commit;
        List<RepoFile> files;
        try
        {
            (commit, files) = ModelInfo.Read(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
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
        Retry.RunAsync(async () =>
        {
            await ResumableDownload.RunAsync(this, repo, commit, file, token, destinationPath, progress, ct).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>The size and ETag the hub reports for one file (a HEAD on its resolve URL, retried like any call).</summary>
    public Task<(long Size, string? ETag)> GetFileInfoAsync(string repo, string commit, string file, string? token, CancellationToken ct) =>
        Retry.RunAsync(() => HeadAsync(repo, commit, file, token, ct), ct);

    /// <summary>HEAD on the resolve URL: the file's size and normalised ETag (X-Linked-* preferred, as huggingface_hub does).</summary>
    internal async Task<(long Size, string? ETag)> HeadAsync(string repo, string commit, string file, string? token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, ResolveUrl(repo, commit, file));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        using var response = await SendAsync(request, token, repo, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await HubErrors.FromResponseAsync(response, Endpoint, repo, commit, file, ct).ConfigureAwait(false);
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

    internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string? token, string repo,
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

    /// <summary>The whole message for a repo the caller could not read (HTTP 401, 403 or 404).</summary>
    public static string NotAccessible(string repo) => $"weights repo '{repo}': repository not found or not accessible";

    internal string ResolveUrl(string repo, string commit, string file) =>
        $"{Endpoint}/{repo}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

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
}
