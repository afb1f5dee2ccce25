using System.Security.Cryptography;
using DeepDeploy.Node.Weights;

namespace DeepDeploy.Tests.Weights;

/// <summary>The Hub client against the local hub stand-in over real HTTP: private repos, revision pinning, resume after a
/// cut, retries with backoff, HF_TOKEN.</summary>
public sealed class HubClientTests : IAsyncLifetime
{
    WeightsHub _hub = null!;
    readonly string _dir = Directory.CreateTempSubdirectory("deepdeploy-client-").FullName;

    public async Task InitializeAsync() => _hub = await WeightsHub.StartAsync();

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    HuggingFaceClient Client(string? defaultToken = null, string? endpoint = null) =>
        new(new HttpClient(), endpoint ?? _hub.Endpoint) { DefaultToken = defaultToken, RetryDelay = TimeSpan.FromMilliseconds(50) };

    [Fact]
    public async Task Private_repo_needs_the_right_token_and_each_refusal_is_named()
    {
        _hub.Write("acme/secret", "m.gguf", [1, 2, 3]);
        _hub.MakePrivate("acme/secret", "hf_right");

        var ok = await Client().ResolveAsync("acme/secret", null, "hf_right", default);
        Assert.Equal(["m.gguf"], ok.Files.Select(f => f.Path)); // the control file is not listed

        var none = await Assert.ThrowsAsync<HubException>(() => Client().ResolveAsync("acme/secret", null, null, default));
        Assert.Equal(HubErrorKind.RepoNotFound, none.Kind);
        Assert.Equal(401, none.StatusCode);
        Assert.Equal("weights repo 'acme/secret': repository not found or not accessible", none.Message);

        var wrong = await Assert.ThrowsAsync<HubException>(() => Client().ResolveAsync("acme/secret", null, "hf_wrong", default));
        Assert.Equal(HubErrorKind.Unauthorized, wrong.Kind);
        Assert.Equal("weights repo 'acme/secret': repository not found or not accessible", wrong.Message); // not the hub's "Invalid credentials"
        Assert.DoesNotContain("hf_wrong", wrong.Message);

        // HF_TOKEN as the default token: used when the call names none.
        var byDefault = await Client(defaultToken: "hf_right").ResolveAsync("acme/secret", null, null, default);
        Assert.Equal(ok.Commit, byDefault.Commit);
        await Client(defaultToken: "hf_right").DownloadFileAsync("acme/secret", ok.Commit, "m.gguf", null, Path.Combine(_dir, "m.gguf"), null, default);
        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(Path.Combine(_dir, "m.gguf")));
        // Private repos hide their files too.
        var file = await Assert.ThrowsAsync<HubException>(() => Client().GetFileInfoAsync("acme/secret", ok.Commit, "m.gguf", null, default));
        Assert.Equal(HubErrorKind.RepoNotFound, file.Kind);
    }

    [Fact]
    public async Task Revisions_pin_by_branch_tag_and_commit_and_missing_ones_are_named()
    {
        _hub.Write("acme/pinned", "m.gguf", [1]);
        _hub.Write("acme/pinned@v1", "m.gguf", [2, 2]);
        _hub.Write("acme/pinned@dev", "m.gguf", [3, 3, 3]);
        var client = Client();

        var main = await client.ResolveAsync("acme/pinned", null, null, default);
        var v1 = await client.ResolveAsync("acme/pinned", "v1", null, default);
        var dev = await client.ResolveAsync("acme/pinned", "dev", null, default);
        Assert.Equal(3, new[] { main.Commit, v1.Commit, dev.Commit }.Distinct().Count());
        Assert.Equal([1L, 2L, 3L], new[] { main, v1, dev }.Select(s => s.Files.Single().Size));

        var byCommit = await client.ResolveAsync("acme/pinned", v1.Commit, null, default);
        Assert.Equal(v1.Commit, byCommit.Commit);
        await client.DownloadFileAsync("acme/pinned", v1.Commit, "m.gguf", null, Path.Combine(_dir, "v1.gguf"), null, default);
        Assert.Equal([2, 2], await File.ReadAllBytesAsync(Path.Combine(_dir, "v1.gguf")));

        var missing = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync("acme/pinned", "v9", null, default));
        Assert.Equal(HubErrorKind.RevisionNotFound, missing.Kind);
        var repo = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync("acme/nothing", null, null, default));
        Assert.Equal(HubErrorKind.RepoNotFound, repo.Kind);
        var entry = await Assert.ThrowsAsync<HubException>(() => client.GetFileInfoAsync("acme/pinned", main.Commit, "nope.gguf", null, default));
        Assert.Equal(HubErrorKind.EntryNotFound, entry.Kind);
    }

    [Fact]
    public async Task A_cut_download_is_retried_and_resumed_with_a_range_and_verified()
    {
        var content = RandomNumberGenerator.GetBytes(3_000_000);
        _hub.Write("acme/big", "big.gguf", content);
        _hub.Cut("acme/big", 1_000_000, times: 2);
        var client = Client();
        var snapshot = await client.ResolveAsync("acme/big", null, null, default);
        var retries = new List<int>();
        client = new HuggingFaceClient(new HttpClient(), _hub.Endpoint) { RetryDelay = TimeSpan.FromMilliseconds(50), OnRetry = (n, _) => retries.Add(n) };

        await client.DownloadFileAsync("acme/big", snapshot.Commit, "big.gguf", null, Path.Combine(_dir, "big.gguf"), null, default);

        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(_dir, "big.gguf"))));
        Assert.Equal([1, 2], retries);
        var gets = _hub.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/big.gguf")).Select(r => r.Range).ToList();
        // Resumed where the bytes on disk end (an abort loses what was in flight, so not exactly at 1 MB).
        Assert.Equal(3, gets.Count);
        Assert.Null(gets[0]);
        var starts = gets.Skip(1).Select(r => long.Parse(r!["bytes=".Length..^1])).ToList();
        Assert.True(starts[0] > 0 && starts[1] > starts[0], string.Join(", ", gets));
        Assert.False(File.Exists(Path.Combine(_dir, "big.gguf.incomplete")));
    }

    [Fact]
    public async Task A_body_larger_than_the_reported_size_stops_there_without_retries_and_leaves_no_partial_file()
    {
        _hub.Write("acme/liar", "m.gguf", new byte[200_000]);
        _hub.Oversize("acme/liar", 5_000_000);
        var client = Client();
        var commit = (await client.ResolveAsync("acme/liar", null, null, default)).Commit;
        var destination = Path.Combine(_dir, "liar.gguf");

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync("acme/liar", commit, "m.gguf", null, destination, null, default));

        Assert.Equal(HubErrorKind.TooLarge, e.Kind);
        Assert.Contains("larger than the 200000 bytes the hub reported", e.Message);
        Assert.Equal(1, _hub.Downloads("acme/liar"));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task Network_failures_are_retried_with_backoff_then_fail_clearly()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        var attempts = new List<int>();
        var client = new HuggingFaceClient(new HttpClient(), $"http://127.0.0.1:{port}/hub")
        {
            MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(100), OnRetry = (n, _) => attempts.Add(n),
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync("acme/x", null, null, default));

        Assert.Equal(HubErrorKind.Network, e.Kind);
        Assert.Equal([1, 2], attempts);
        Assert.Contains("could not reach", e.Message);
        Assert.Contains("gave up after 3 attempts", e.Message);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"backoff 100 + 200 ms, took {clock.Elapsed}");
    }
}
