using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node.Weights;

namespace DeepDeploy.Tests.Weights;

/// <summary>The pure rules of weights downloads: which files an engine gets, token allow-list globs, the free-space
/// reserve and the cache limit derived from free disk.</summary>
[Trait("Category", "Unit")]
public sealed class WeightsRulesTests
{
    static readonly string[] Repo =
    [
        "README.md", "config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "tokenizer.model.v3",
        "tokenizer.model.v3.py", "special_tokens_map.json", "cl100k_base.tiktoken", "merges.txt", "vocab.json",
        "modeling_evil.py", "configuration_evil.py", "setup.sh", "pytorch_model.bin", "model.gguf", "original/consolidated.00.pth",
        "tokenizer.py", ".gitattributes",
    ];

    [Fact]
    public void A_snapshot_takes_weights_config_and_tokenizer_files_and_code_only_when_the_profile_allows_it()
    {
        Assert.Equal(
        [
            "config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "tokenizer.model.v3",
            "special_tokens_map.json", "cl100k_base.tiktoken", "merges.txt", "vocab.json",
        ], WeightsFiles.Select(Repo, WeightsFormats.Safetensors, allowCodeFiles: false));

        var withCode = WeightsFiles.Select(Repo, WeightsFormats.Safetensors, allowCodeFiles: true);
        Assert.Contains("modeling_evil.py", withCode);
        Assert.Contains("README.md", withCode);
        Assert.DoesNotContain("pytorch_model.bin", withCode); // other weight formats never
        Assert.DoesNotContain("model.gguf", withCode);
        Assert.DoesNotContain("original/consolidated.00.pth", withCode);
    }

    [Theory]
    [InlineData("myorg/*", "myorg/llama", true)]
    [InlineData("myorg/*", "MyOrg/Llama", true)]
    [InlineData("myorg/*", "myorg2/llama", false)]
    [InlineData("myorg/*", "other/myorg", false)]
    [InlineData("myorg/llama-*", "myorg/llama-3", true)]
    [InlineData("myorg/llama-*", "myorg/mistral", false)]
    [InlineData("myorg/a, other/b", "other/b", true)]
    [InlineData("*/*", "any/repo", true)]
    [InlineData("*", "any/repo", false)]
    [InlineData("", "any/repo", false)]
    [InlineData(null, "any/repo", false)]
    [InlineData("my.org/*", "myxorg/a", false)]
    public void Token_repos_are_globs_within_one_part(string? globs, string repo, bool matches) =>
        Assert.Equal(matches, RepoGlobs.Parse(globs).Matches(repo));

    [Fact]
    public void The_operator_token_goes_only_to_allowed_repos_and_a_deployment_token_wins()
    {
        var endpoint = new HfEndpoint("http://hub") { DefaultToken = "hf_op", TokenRepos = RepoGlobs.Parse("myorg/*") };
        Assert.Equal("hf_op", endpoint.TokenFor("myorg/m", null));
        Assert.Null(endpoint.TokenFor("acme/m", null));
        Assert.Equal("hf_own", endpoint.TokenFor("acme/m", "hf_own"));
        Assert.Null(new HfEndpoint("http://hub") { DefaultToken = "hf_op" }.TokenFor("myorg/m", null)); // no allow-list: never
    }

    [Fact]
    public void The_reserve_is_five_percent_of_the_volume_but_at_least_2_GiB_unless_set()
    {
        Assert.Equal(5 * WeightsOptions.GiB, new WeightsOptions().ReserveFor(100 * WeightsOptions.GiB));
        Assert.Equal(2 * WeightsOptions.GiB, new WeightsOptions().ReserveFor(10 * WeightsOptions.GiB));
        Assert.Equal(123, new WeightsOptions { FreeSpaceReserveBytes = 123 }.ReserveFor(100 * WeightsOptions.GiB));
        Assert.Equal(200 * WeightsOptions.GiB, new WeightsOptions().MaxWeightsBytes);
    }

    [Fact]
    public void Without_a_configured_limit_the_cache_takes_80_percent_of_the_free_disk_measured_once()
    {
        var disk = new FakeDisk(free: 1_000_000, total: 10_000_000);
        using var node = new CacheUnderTest("http://127.0.0.1:1/hub", disk: disk);
        Assert.Equal(800_000, node.Cache.CacheLimit);
        disk.Free = 10;
        Assert.Equal(800_000, node.Cache.CacheLimit);
        using var configured = new CacheUnderTest("http://127.0.0.1:1/hub", limit: 5, disk: disk);
        Assert.Equal(5, configured.Cache.CacheLimit);
    }

    [Fact]
    public void Starting_removes_partial_files_an_earlier_run_left_and_keeps_finished_blobs()
    {
        using var node = new CacheUnderTest("http://127.0.0.1:1/hub", disk: new FakeDisk(1L << 40, 1L << 41));
        var blobs = Directory.CreateDirectory(Path.Combine(node.Paths.ModelsDirectory, "acme--x", "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, "aaaa.incomplete"), new byte[10]);
        File.WriteAllBytes(Path.Combine(blobs, "bbbb"), new byte[10]);

        node.Cache.Start();

        Assert.Equal([Path.Combine(blobs, "bbbb")], node.Blobs());
    }
}
