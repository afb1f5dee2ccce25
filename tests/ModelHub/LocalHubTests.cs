using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using DeepDeploy.LocalHub;
using DeepDeploy.Node.Weights;
using Xunit;

namespace DeepDeploy.Tests.ModelHub;

public sealed class LocalHubTests(LocalHubFixture hub) : IClassFixture<LocalHubFixture>, IDisposable
{
    private readonly string _downloads = Path.Combine(Path.GetTempPath(), "deepdeploy-dl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_downloads, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private HuggingFaceClient Client(HttpClient? http = null) => new(http ?? hub.CreateHttpClient(), hub.HubEndpoint);

    [Fact]
    public async Task Resolve_main_lists_files_with_sizes_and_a_commit_id()
    {
        var snapshot = await Client().ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);

        Assert.Equal(LocalHubFixture.SmallRepo, snapshot.Repo);
        Assert.Equal("main", snapshot.Revision);
        Assert.Matches("^[0-9a-f]{40}$", snapshot.Commit);
        Assert.Equal(["config.json", "sub/dir/notes.txt", "weights.gguf"], snapshot.Files.Select(f => f.Path));
        Assert.Equal([hub.Config.Length, hub.Notes.Length, hub.Weights.Length], snapshot.Files.Select(f => f.Size));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(hub.Weights)), snapshot.Files.Single(f => f.Path == "weights.gguf").Sha256);
        Assert.Equal(hub.Config.Length + hub.Notes.Length + hub.Weights.Length, snapshot.TotalSize);
    }

    [Fact]
    public async Task Resolve_by_sha_and_main_agree_and_the_commit_is_deterministic()
    {
        var client = Client();
        var main = await client.ResolveAsync(LocalHubFixture.SmallRepo, "main", null, CancellationToken.None);
        var bySha = await client.ResolveAsync(LocalHubFixture.SmallRepo, main.Commit, null, CancellationToken.None);
        var again = await client.ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);
        var other = await client.ResolveAsync(LocalHubFixture.OtherRepo, null, null, CancellationToken.None);

        Assert.Equal(main.Commit, bySha.Commit);
        Assert.Equal(main.Commit, bySha.Revision);
        Assert.Equal(main.Files, bySha.Files);
        Assert.Equal(main.Commit, again.Commit);
        Assert.NotEqual(main.Commit, other.Commit);
        Assert.Equal(["README.md"], other.Files.Select(f => f.Path)); // the escaping symlink is not listed
    }

    [Fact]
    public async Task Model_info_and_resolve_speak_the_hub_wire_format()
    {
        using var http = hub.CreateHttpClient();
        using var info = JsonDocument.Parse(await http.GetStringAsync($"{hub.HubEndpoint}/api/models/{LocalHubFixture.SmallRepo}"));
        var root = info.RootElement;
        Assert.Equal(LocalHubFixture.SmallRepo, root.GetProperty("id").GetString());
        var sha = root.GetProperty("sha").GetString()!;
        Assert.Matches("^[0-9a-f]{40}$", sha);
        Assert.Equal(["config.json", "sub/dir/notes.txt", "weights.gguf"],
            root.GetProperty("siblings").EnumerateArray().Select(s => s.GetProperty("rfilename").GetString()));
        Assert.Equal(hub.Config.Length + hub.Notes.Length + hub.Weights.Length, root.GetProperty("usedStorage").GetInt64());

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{hub.HubEndpoint}/{LocalHubFixture.SmallRepo}/resolve/main/weights.gguf"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(sha, head.Headers.GetValues("X-Repo-Commit").Single());
        Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(hub.Weights))}\"", head.Headers.ETag!.Tag);
        Assert.Equal(hub.Weights.Length, head.Content.Headers.ContentLength);
        Assert.Contains("bytes", head.Headers.AcceptRanges);

        var ranged = new HttpRequestMessage(HttpMethod.Get, $"{hub.HubEndpoint}/{LocalHubFixture.SmallRepo}/resolve/{sha}/weights.gguf");
        ranged.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(hub.Weights[1000..2000], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal(sha, partial.Headers.GetValues("X-Repo-Commit").Single());

        // Small (non-LFS) files carry the git blob id as ETag, like huggingface.co.
        using var config = await http.GetAsync($"{hub.HubEndpoint}/{LocalHubFixture.SmallRepo}/resolve/main/config.json");
        Assert.Equal(hub.Config, await config.Content.ReadAsByteArrayAsync());
        Assert.Matches("^\"[0-9a-f]{40}\"$", config.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task Hub_errors_carry_the_hub_error_codes()
    {
        using var http = hub.CreateHttpClient();
        async Task Expect(string url, HttpStatusCode status, string code)
        {
            using var response = await http.GetAsync(hub.HubEndpoint + url);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal(code, response.Headers.GetValues("X-Error-Code").Single());
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetString()));
        }

        await Expect("/api/models/acme/nope", HttpStatusCode.NotFound, "RepoNotFound");
        await Expect("/api/models/acme/small/revision/v9", HttpStatusCode.NotFound, "RevisionNotFound");
        await Expect("/acme/small/resolve/main/nope.bin", HttpStatusCode.NotFound, "EntryNotFound");
        await Expect("/acme/small/resolve/0123456789012345678901234567890123456789/config.json", HttpStatusCode.NotFound, "RevisionNotFound");
        await Expect("/acme/nope/resolve/main/config.json", HttpStatusCode.NotFound, "RepoNotFound");
    }

    [Fact]
    public async Task Download_writes_the_file_reports_progress_and_leaves_no_partial()
    {
        var client = Client();
        var snapshot = await client.ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);
        var destination = Path.Combine(_downloads, "small", "weights.gguf");
        var reports = new List<long>();

        await client.DownloadFileAsync(LocalHubFixture.SmallRepo, snapshot.Commit, "weights.gguf", null, destination, new SyncProgress(reports), CancellationToken.None);
        await client.DownloadFileAsync(LocalHubFixture.SmallRepo, snapshot.Commit, "sub/dir/notes.txt", null,
            Path.Combine(_downloads, "small", "sub", "dir", "notes.txt"), null, CancellationToken.None);

        Assert.Equal(hub.Weights, File.ReadAllBytes(destination));
        Assert.Equal(hub.Notes, File.ReadAllBytes(Path.Combine(_downloads, "small", "sub", "dir", "notes.txt")));
        Assert.False(File.Exists(destination + ".incomplete"));
        Assert.Equal(hub.Weights.Length, reports[^1]);
        Assert.True(reports.SequenceEqual(reports.Order()), "progress must not go backwards");
    }

    [Fact]
    public async Task Download_resumes_a_partial_file_with_a_range_request()
    {
        var recorder = new RecordingHandler();
        var client = Client(hub.CreateHttpClient(recorder));
        var snapshot = await client.ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);
        var destination = Path.Combine(_downloads, "resume", "weights.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.WriteAllBytes(destination + ".incomplete", hub.Weights[..100_000]);
        var reports = new List<long>();

        await client.DownloadFileAsync(LocalHubFixture.SmallRepo, snapshot.Commit, "weights.gguf", null, destination, new SyncProgress(reports), CancellationToken.None);

        Assert.Equal(hub.Weights, File.ReadAllBytes(destination));
        Assert.False(File.Exists(destination + ".incomplete"));
        var get = Assert.Single(recorder.Calls, c => c.Method == HttpMethod.Get && c.Url.Contains("/resolve/"));
        Assert.Equal(100_000, get.Range!.Ranges.Single().From);
        Assert.Equal(206, get.Status);
        Assert.Equal(100_000, reports[0]);
    }

    [Fact]
    public async Task Download_recovers_from_a_corrupt_partial_file()
    {
        var client = Client();
        var snapshot = await client.ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);
        var destination = Path.Combine(_downloads, "corrupt", "weights.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.WriteAllBytes(destination + ".incomplete", new byte[50_000]); // zeros: wrong content, plausible size

        await client.DownloadFileAsync(LocalHubFixture.SmallRepo, snapshot.Commit, "weights.gguf", null, destination, null, CancellationToken.None);

        Assert.Equal(hub.Weights, File.ReadAllBytes(destination));
    }

    [Fact]
    public async Task Unknown_repo_is_RepoNotFound_saying_only_not_accessible()
    {
        var ex = await Assert.ThrowsAsync<HubException>(() =>
            Client().ResolveAsync("meta-llama/Llama-2-7b-chat-hf", null, null, CancellationToken.None));

        Assert.Equal(HubErrorKind.RepoNotFound, ex.Kind);
        Assert.Equal("weights repo 'meta-llama/Llama-2-7b-chat-hf': repository not found or not accessible", ex.Message);
        Assert.Equal("meta-llama/Llama-2-7b-chat-hf", ex.Repo);
        Assert.Equal(hub.HubEndpoint, ex.Endpoint);
        Assert.Equal(404, ex.StatusCode);
    }

    [Fact]
    public async Task Unknown_revision_is_RevisionNotFound()
    {
        var ex = await Assert.ThrowsAsync<HubException>(() =>
            Client().ResolveAsync(LocalHubFixture.SmallRepo, "v9.9", null, CancellationToken.None));

        Assert.Equal(HubErrorKind.RevisionNotFound, ex.Kind);
        Assert.Contains("'v9.9'", ex.Message);
        Assert.Contains(LocalHubFixture.SmallRepo, ex.Message);
        Assert.Contains(hub.HubEndpoint, ex.Message);
    }

    [Fact]
    public async Task Missing_file_is_EntryNotFound_and_writes_nothing()
    {
        var client = Client();
        var snapshot = await client.ResolveAsync(LocalHubFixture.SmallRepo, null, null, CancellationToken.None);
        var destination = Path.Combine(_downloads, "missing", "nope.bin");

        var ex = await Assert.ThrowsAsync<HubException>(() =>
            client.DownloadFileAsync(LocalHubFixture.SmallRepo, snapshot.Commit, "nope.bin", null, destination, null, CancellationToken.None));

        Assert.Equal(HubErrorKind.EntryNotFound, ex.Kind);
        Assert.Contains("'nope.bin'", ex.Message);
        Assert.Contains(hub.HubEndpoint, ex.Message);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".incomplete"));
    }

    [Fact]
    public async Task Token_is_sent_as_bearer_and_refusals_are_Unauthorized()
    {
        var client = new HuggingFaceClient(hub.CreateHttpClient(), hub.BaseAddress + "/locked");
        var ex = await Assert.ThrowsAsync<HubException>(() =>
            client.ResolveAsync("acme/gated", null, "hf_secret_token", CancellationToken.None));

        Assert.Equal(HubErrorKind.Unauthorized, ex.Kind);
        Assert.Equal(401, ex.StatusCode);
        Assert.Contains("acme/gated", ex.Message);
        Assert.DoesNotContain("hf_secret_token", ex.Message);
        lock (hub.AuthorizationHeaders)
        {
            Assert.Contains("Bearer hf_secret_token", hub.AuthorizationHeaders);
        }
    }

    [Fact]
    public async Task Unreachable_endpoint_is_Network()
    {
        var client = new HuggingFaceClient(new HttpClient(), "http://127.0.0.1:1/hub");
        var ex = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync("acme/small", null, null, CancellationToken.None));

        Assert.Equal(HubErrorKind.Network, ex.Kind);
        Assert.Contains("http://127.0.0.1:1/hub", ex.Message);
        Assert.Contains("acme/small", ex.Message);
    }

    [Theory]
    [InlineData("/hub/acme/small/resolve/main/%2e%2e/%2e%2e/secret.txt")]
    [InlineData("/hub/acme/small/resolve/main/..%2F..%2Fsecret.txt")]
    [InlineData("/hub/acme/small/resolve/main/%2e%2e%2f%2e%2e%2fsecret.txt")]
    [InlineData("/hub/acme/small/resolve/main/sub/%2e%2e/%2e%2e/%2e%2e/secret.txt")]
    [InlineData("/hub/acme/small/resolve/main/%2fetc%2fpasswd")]
    [InlineData("/hub/acme/%2e%2e/resolve/main/secret.txt")]
    [InlineData("/hub/acme/other/resolve/main/escape.txt")]
    [InlineData("/hub/acme/small/resolve/main/.git/config")]
    public async Task Path_traversal_is_refused(string rawPath)
    {
        using var socket = new System.Net.Sockets.TcpClient();
        var uri = new Uri(hub.BaseAddress);
        await socket.ConnectAsync(uri.Host, uri.Port);
        await using var stream = socket.GetStream();
        // Raw request line: HttpClient would normalise the dot segments before they reach the server.
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var response = await reader.ReadToEndAsync();

        Assert.DoesNotContain(LocalHubFixture.SecretText, response);
        Assert.DoesNotMatch("^HTTP/1.1 2", response);
    }

    [Theory]
    [InlineData("../secret.txt")]
    [InlineData("a/../../secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\b")]
    [InlineData("./config.json")]
    [InlineData("a//b")]
    [InlineData(".git/config")]
    [InlineData("")]
    public void Path_validator_refuses_unsafe_paths(string path)
    {
        Assert.False(LocalHubPaths.TryGetFilePath(Path.Combine(hub.Root, "acme", "small"), path, out _));
    }

    [Fact]
    public void Path_validator_maps_safe_paths_inside_the_repo()
    {
        var repo = Path.Combine(hub.Root, "acme", "small");
        Assert.True(LocalHubPaths.TryGetFilePath(repo, "sub/dir/notes.txt", out var full));
        Assert.Equal(Path.Combine(repo, "sub", "dir", "notes.txt"), full);
        Assert.True(LocalHubPaths.TryGetFilePath(repo, ".gitattributes", out _));
    }

    [Fact]
    public async Task Client_refuses_unsafe_file_names_before_any_request()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client().DownloadFileAsync(
            LocalHubFixture.SmallRepo, "main", "../../etc/passwd", null, Path.Combine(_downloads, "x"), null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Client().ResolveAsync("not-a-repo-id", null, null, CancellationToken.None));
    }

    [Fact]
    public async Task Seeder_creates_the_tiny_repo_once_and_the_hub_serves_it()
    {
        LocalHubSeeder.EnsureSeeded(hub.Root);
        var weights = Path.Combine(hub.Root, "deepdeploy", "tiny-llama-gguf", LocalHubSeeder.TinyFile);
        var written = File.GetLastWriteTimeUtc(weights);
        LocalHubSeeder.EnsureSeeded(hub.Root); // idempotent: does not rewrite
        Assert.Equal(written, File.GetLastWriteTimeUtc(weights));

        var snapshot = await Client().ResolveAsync(LocalHubSeeder.TinyRepo, null, null, CancellationToken.None);
        Assert.Equal(["README.md", "config.json", "tiny-llama.gguf"], snapshot.Files.Select(f => f.Path));
        Assert.All(snapshot.Files, f => Assert.True(f.Size > 0));
    }

    private sealed class SyncProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value) => reports.Add(value);
    }
}
