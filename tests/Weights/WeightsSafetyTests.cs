using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Node.Engines;
using DeepDeploy.Node.Weights;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Weights;

/// <summary>Disk safety and hub tokens of the node's cache and the resolver against the local hub stand-in over real HTTP:
/// only the files an engine needs, the maximum weights size, cancelled downloads leaving nothing behind, the free-space
/// reserve, and the operator's HF_TOKEN only for allowed repos.</summary>
public sealed class WeightsSafetyTests : IAsyncLifetime
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    WeightsHub _hub = null!;

    public async Task InitializeAsync() => _hub = await WeightsHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    async Task<string> CommitOf(string repo, string? token = null) =>
        (await new HuggingFaceClient(new HttpClient(), _hub.Endpoint).ResolveAsync(repo, null, token, default)).Commit;

    static HubWeightsResolver Resolver(CacheUnderTest node, WeightsOptions? options = null) =>
        new(node.Endpoint, new CacheUnderTest.Factory(), node.Protection, Options.Create(options ?? new WeightsOptions()));

    static WeightsRequest Request(string repo) => new(repo, null, null, null, "A100-80GB", 1);

    /// <summary>The download has begun writing (its bytes reach the disk in 1 MiB writes, so the file may still be empty).</summary>
    static bool HasPartial(CacheUnderTest node) => node.Blobs().Any(b => b.EndsWith(".incomplete", StringComparison.Ordinal));

    [Fact]
    public async Task A_snapshot_downloads_no_code_files_unless_the_engine_profile_allows_them()
    {
        _hub.Write("acme/code", "model.safetensors", new byte[1000]);
        _hub.Write("acme/code", "config.json", "{}"u8.ToArray());
        _hub.Write("acme/code", "tokenizer.json", "{}"u8.ToArray());
        _hub.Write("acme/code", "modeling_evil.py", "import os"u8.ToArray());
        _hub.Write("acme/code", "README.md", "hi"u8.ToArray());
        var commit = await CommitOf("acme/code");

        using (var node = new CacheUnderTest(_hub.Endpoint))
        {
            using var lease = await node.Cache.AcquireAsync(node.Launch("acme/code", commit, "", format: WeightsFormats.Safetensors),
                new EngineProfile(), null, default);
            Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.GetFiles(lease.Path).Select(Path.GetFileName).Order());
            Assert.Equal(0, _hub.Downloads("acme/code", "modeling_evil.py"));
        }

        using var trusting = new CacheUnderTest(_hub.Endpoint);
        using var withCode = await trusting.Cache.AcquireAsync(trusting.Launch("acme/code", commit, "", format: WeightsFormats.Safetensors),
            new EngineProfile { AllowCodeFiles = true }, null, default);
        Assert.Equal(["README.md", "config.json", "model.safetensors", "modeling_evil.py", "tokenizer.json"],
            Directory.GetFiles(withCode.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Weights_over_the_maximum_size_fail_before_any_byte_is_written_naming_the_limit_and_the_size()
    {
        _hub.Write("acme/big", "m.gguf", new byte[300_000]);
        _hub.Write("acme/bigst", "model.safetensors", new byte[150_000]);
        _hub.Write("acme/bigst", "config.json", new byte[60_000]);
        _hub.Write("acme/bigst", "modeling.py", new byte[100]);
        var limits = new WeightsOptions { MaxWeightsBytes = 200_000 };
        using var node = new CacheUnderTest(_hub.Endpoint, weights: limits);

        var commit = await CommitOf("acme/big");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            node.Cache.AcquireAsync(node.Launch("acme/big", commit, "m.gguf"), null, null, default));

        const string Reason = "weights of repo 'acme/big' are 293 KiB (300000 bytes), over the maximum weights size of 195.3 KiB (200000 bytes) per deployment";
        Assert.StartsWith(Reason, refused.Message);
        Assert.Equal(0, _hub.Downloads("acme/big"));
        Assert.Empty(node.Blobs());

        // The control plane refuses the deployment at once with the same reason, counting what an engine would get.
        Assert.StartsWith(Reason, (await Resolver(node, limits).ResolveAsync(Request("acme/big"), default)).Error);
        Assert.StartsWith("weights of repo 'acme/bigst' are 205.1 KiB (210000 bytes)", (await Resolver(node, limits).ResolveAsync(Request("acme/bigst"), default)).Error);
        Assert.Null((await Resolver(node).ResolveAsync(Request("acme/big"), default)).Error);
    }

    [Fact]
    public async Task A_hub_sending_more_than_it_reported_is_stopped_and_leaves_no_partial_file()
    {
        _hub.Write("acme/liar", "m.gguf", new byte[100_000]);
        _hub.Oversize("acme/liar", 10_000_000);
        using var node = new CacheUnderTest(_hub.Endpoint);

        var commit = await CommitOf("acme/liar");
        var e = await Assert.ThrowsAsync<HubException>(() =>
            node.Cache.AcquireAsync(node.Launch("acme/liar", commit, "m.gguf"), null, null, default));

        Assert.Equal(HubErrorKind.TooLarge, e.Kind);
        Assert.Empty(node.Blobs());
    }

    [Fact]
    public async Task A_stopped_download_is_cancelled_its_partial_file_removed_and_the_cache_works_afterwards()
    {
        _hub.Write("acme/slow", "m.gguf", new byte[2_000_000]);
        _hub.Throttle("acme/slow", 100_000);
        var commit = await CommitOf("acme/slow");
        using var node = new CacheUnderTest(_hub.Endpoint);
        using var stop = new CancellationTokenSource();

        var acquiring = node.Cache.AcquireAsync(node.Launch("acme/slow", commit, "m.gguf"), null, null, stop.Token);
        await Eventually.TrueAsync(() => HasPartial(node), Wait, "a partial file");
        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => acquiring);
        await Eventually.TrueAsync(() => node.Blobs().Count == 0, Wait, "no partial file");
        _hub.Throttle("acme/slow", null);
        using var lease = await node.Cache.AcquireAsync(node.Launch("acme/slow", commit, "m.gguf"), null, null, default);
        Assert.Equal(2_000_000, ((FileInfo)new FileInfo(lease.Path).ResolveLinkTarget(returnFinalTarget: true)!).Length);
        Assert.Equal(2, _hub.Downloads("acme/slow"));
    }

    [Fact]
    public async Task A_shared_download_goes_on_while_another_instance_still_waits_for_it()
    {
        _hub.Write("acme/shared", "m.gguf", new byte[500_000]);
        _hub.Throttle("acme/shared", 250_000);
        var commit = await CommitOf("acme/shared");
        using var node = new CacheUnderTest(_hub.Endpoint);
        using var stop = new CancellationTokenSource();

        var leaving = node.Cache.AcquireAsync(node.Launch("acme/shared", commit, "m.gguf"), null, null, stop.Token);
        var staying = node.Cache.AcquireAsync(node.Launch("acme/shared", commit, "m.gguf"), null, null, default);
        await Eventually.TrueAsync(() => HasPartial(node), Wait, "a partial file");
        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        using var lease = await staying;
        Assert.Equal(500_000, ((FileInfo)new FileInfo(lease.Path).ResolveLinkTarget(returnFinalTarget: true)!).Length);
        Assert.Equal(1, _hub.Downloads("acme/shared"));
    }

    [Fact]
    public async Task A_download_that_would_leave_less_than_the_reserve_free_fails_with_a_clear_reason()
    {
        _hub.Write("acme/a", "m.gguf", new byte[400_000]);
        _hub.Write("acme/b", "m.gguf", Enumerable.Repeat((byte)1, 400_000).ToArray());
        var disk = new FakeDisk(free: 1_500_000, total: 100_000_000);
        using var node = new CacheUnderTest(_hub.Endpoint, weights: new WeightsOptions { FreeSpaceReserveBytes = 1_000_000 }, disk: disk);

        using (await node.Cache.AcquireAsync(node.Launch("acme/a", await CommitOf("acme/a"), "m.gguf"), null, null, default))
        {
        }

        disk.Free = 1_200_000;
        var b = await CommitOf("acme/b");
        var full = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            node.Cache.AcquireAsync(node.Launch("acme/b", b, "m.gguf"), null, null, default));

        Assert.Equal("not enough disk space on node " + new DeepDeploy.Node.NodeOptions().Name + " for the weights of repo 'acme/b' (390.6 KiB): "
            + "1.1 MiB free, and the node keeps 976.6 KiB free (DeepDeploy:Node:FreeSpaceReserveBytes)", full.Message);
        Assert.Equal(0, _hub.Downloads("acme/b"));
    }

    [Fact]
    public async Task The_operator_token_is_sent_only_for_allowed_repos_and_a_refusal_says_only_not_accessible()
    {
        _hub.Write("myorg/p", "m.gguf", new byte[10]);
        _hub.MakePrivate("myorg/p", "hf_op");
        _hub.Write("acme/p", "m.gguf", new byte[10]);
        _hub.MakePrivate("acme/p", "hf_op", "hf_own");
        var (mine, theirs) = (await CommitOf("myorg/p", "hf_op"), await CommitOf("acme/p", "hf_op"));
        using var node = new CacheUnderTest(_hub.Endpoint, defaultToken: "hf_op", tokenRepos: "myorg/*");

        using (await node.Cache.AcquireAsync(node.Launch("myorg/p", mine, "m.gguf"), null, null, default))
        {
        }

        // hf_op would open acme/p, so a refusal shows it was not sent.
        var refused = await Assert.ThrowsAsync<HubException>(() => node.Cache.AcquireAsync(node.Launch("acme/p", theirs, "m.gguf"), null, null, default));
        Assert.Equal("weights repo 'acme/p': repository not found or not accessible", refused.Message);
        using (await node.Cache.AcquireAsync(node.Launch("acme/p", theirs, "m.gguf", token: "hf_own"), null, null, default))
        {
        }

        var resolver = Resolver(node);
        Assert.Equal(mine, (await resolver.ResolveAsync(Request("myorg/p"), default)).Commit);
        Assert.Equal("weights repo 'acme/p': repository not found or not accessible", (await resolver.ResolveAsync(Request("acme/p"), default)).Error);
        Assert.Equal("weights repo 'acme/none': repository not found or not accessible", (await resolver.ResolveAsync(Request("acme/none"), default)).Error);

        using var noList = new CacheUnderTest(_hub.Endpoint, defaultToken: "hf_op", tokenRepos: null);
        Assert.Equal("weights repo 'myorg/p': repository not found or not accessible", (await Resolver(noList).ResolveAsync(Request("myorg/p"), default)).Error);
    }
}
