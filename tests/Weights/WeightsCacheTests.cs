using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node.Weights;

namespace DeepDeploy.Tests.Weights;

/// <summary>The node's model cache against the local hub stand-in: layout, single download, cache hits, eviction, progress.</summary>
public sealed class WeightsCacheTests : IAsyncLifetime
{
    WeightsHub _hub = null!;

    public async Task InitializeAsync() => _hub = await WeightsHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    static long Size(string link) => ((FileInfo)new FileInfo(link).ResolveLinkTarget(returnFinalTarget: true)!).Length;

    async Task<string> CommitOf(string repo, string? revision = null) =>
        (await new HuggingFaceClient(new HttpClient(), _hub.Endpoint).ResolveAsync(repo, revision, null, default)).Commit;

    [Fact]
    public async Task Concurrent_instances_download_once_then_hit_the_cache_like_the_hub_cache_layout()
    {
        _hub.Write("acme/one", "m.gguf", new byte[2_000_000]);
        var commit = await CommitOf("acme/one");
        using var node = new CacheUnderTest(_hub.Endpoint);
        var progress = new List<DownloadProgress>();

        var leases = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => node.Cache.AcquireAsync(node.Launch("acme/one", commit, "m.gguf"), null,
            p => { lock (progress) { progress.Add(p); } return Task.CompletedTask; }, default)));

        Assert.Equal(1, _hub.Downloads("acme/one"));
        Assert.All(leases, l => Assert.Equal(leases[0].Path, l.Path));
        var repoDir = Path.Combine(node.Paths.ModelsDirectory, "acme--one");
        Assert.Equal(Path.Combine(repoDir, "snapshots", commit, "m.gguf"), leases[0].Path);
        Assert.NotNull(new FileInfo(leases[0].Path).LinkTarget); // a symlink into blobs/
        Assert.Single(Directory.GetFiles(Path.Combine(repoDir, "blobs")));
        Assert.Equal(2_000_000, Size(leases[0].Path));
        Assert.Contains(progress, p => p.BytesDone == 2_000_000 && p.BytesTotal == 2_000_000);

        var before = _hub.Requests.Count;
        using var hit = await node.Cache.AcquireAsync(node.Launch("acme/one", commit, "m.gguf"), null, null, default);
        Assert.Equal(leases[0].Path, hit.Path);
        Assert.Equal(before, _hub.Requests.Count); // a cache hit asks the hub nothing
        Assert.Equal(2_000_000, node.Cache.DownloadedBytes);
        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task Revisions_share_unchanged_blobs_and_unused_ones_are_evicted_least_recently_used_first()
    {
        _hub.Write("acme/a", "m.gguf", new byte[400_000]);
        _hub.Write("acme/b", "m.gguf", Enumerable.Repeat((byte)1, 400_000).ToArray());
        _hub.Write("acme/c", "m.gguf", Enumerable.Repeat((byte)2, 400_000).ToArray());
        _hub.Write("acme/c", "readme.md", "hi"u8.ToArray());
        _hub.Write("acme/c@v2", "m.gguf", Enumerable.Repeat((byte)2, 400_000).ToArray()); // same blob, another revision
        _hub.Write("acme/c@v2", "readme.md", "v2"u8.ToArray());
        var (a, b, c, c2) = (await CommitOf("acme/a"), await CommitOf("acme/b"), await CommitOf("acme/c"), await CommitOf("acme/c", "v2"));
        using var node = new CacheUnderTest(_hub.Endpoint, limit: 1_000_000);

        using (await node.Cache.AcquireAsync(node.Launch("acme/c", c, "m.gguf"), null, null, default))
        {
        }

        using (await node.Cache.AcquireAsync(node.Launch("acme/c", c2, "m.gguf"), null, null, default))
        {
        }

        Assert.Equal(1, _hub.Downloads("acme/c")); // v2's weights are the same blob: linked, not fetched again
        using var inUse = await node.Cache.AcquireAsync(node.Launch("acme/a", a, "m.gguf"), null, null, default);
        Assert.Equal(800_000, node.Cache.CacheSize());

        // b needs room: c's revisions are unused (a is in use), so c goes, and its blob with it.
        using var bLease = await node.Cache.AcquireAsync(node.Launch("acme/b", b, "m.gguf"), null, null, default);
        Assert.Equal(["acme--a/" + a, "acme--b/" + b], node.Cache.Snapshots().Select(s => s.Key).Order());
        Assert.Equal(800_000, node.Cache.CacheSize());
        Assert.False(Directory.Exists(Path.Combine(node.Paths.ModelsDirectory, "acme--c")));
        Assert.True(File.Exists(inUse.Path));

        // Nothing unused left: a revision in use is never evicted, the download goes over the limit.
        using var cAgain = await node.Cache.AcquireAsync(node.Launch("acme/c", c, "m.gguf"), null, null, default);
        Assert.Equal(2, _hub.Downloads("acme/c"));
        Assert.True(File.Exists(inUse.Path) && File.Exists(bLease.Path));
    }

    [Fact]
    public async Task Safetensors_snapshots_fetch_every_file_but_other_weight_formats()
    {
        _hub.Write("acme/st", "model.safetensors", new byte[1000]);
        _hub.Write("acme/st", "config.json", "{}"u8.ToArray());
        _hub.Write("acme/st", "pytorch_model.bin", new byte[1000]);
        var commit = await CommitOf("acme/st");
        using var node = new CacheUnderTest(_hub.Endpoint);

        using var lease = await node.Cache.AcquireAsync(node.Launch("acme/st", commit, "", format: WeightsFormats.Safetensors), null, null, default);

        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(lease.Path).Select(Path.GetFileName).Order());
        Assert.Equal(0, _hub.Downloads("acme/st", "pytorch_model.bin"));
        var requests = _hub.Requests.Count;
        using var hit = await node.Cache.AcquireAsync(node.Launch("acme/st", commit, "", format: WeightsFormats.Safetensors), null, null, default);
        Assert.Equal(requests, _hub.Requests.Count);
    }

    [Fact]
    public async Task A_private_repo_downloads_with_the_deployment_token_or_hf_token()
    {
        _hub.Write("acme/p", "m.gguf", new byte[10]);
        _hub.MakePrivate("acme/p", "hf_ok");
        using var tokenless = new CacheUnderTest(_hub.Endpoint);
        var commit = (await new HuggingFaceClient(new HttpClient(), _hub.Endpoint).ResolveAsync("acme/p", null, "hf_ok", default)).Commit;

        var refused = await Assert.ThrowsAsync<HubException>(() => tokenless.Cache.AcquireAsync(tokenless.Launch("acme/p", commit, "m.gguf"), null, null, default));
        Assert.Equal(HubErrorKind.RepoNotFound, refused.Kind);
        using (await tokenless.Cache.AcquireAsync(tokenless.Launch("acme/p", commit, "m.gguf", token: "hf_ok"), null, null, default))
        {
        }

        using var withHfToken = new CacheUnderTest(_hub.Endpoint, defaultToken: "hf_ok");
        using var lease = await withHfToken.Cache.AcquireAsync(withHfToken.Launch("acme/p", commit, "m.gguf"), null, null, default);
        Assert.Equal(10, Size(lease.Path));
    }
}
