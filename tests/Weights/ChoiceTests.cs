using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Node.Weights;

namespace DeepDeploy.Tests.Weights;

/// <summary>What to run: GGUF file choice by quantization and GPU memory; engine command templates; load metrics.</summary>
[Trait("Category", "Unit")]
public sealed class ChoiceTests
{
    const long GiB = 1L << 30;

    static RepoSnapshot Repo(params (string Path, long Size)[] files) =>
        new("acme/m", "main", new string('c', 40), files.Select(f => new RepoFile(f.Path, f.Size, null)).ToList());

    static readonly RepoSnapshot Quants = Repo(("m.Q4_K_M.gguf", 40 * GiB), ("m.Q4_K.gguf", 38 * GiB), ("m.Q8_0.gguf", 65 * GiB),
        ("m.F16.gguf", 130 * GiB), ("config.json", 10));

    [Theory]
    [InlineData("Q4_K_M", "L40S-48GB", 1, "m.Q4_K_M.gguf")]
    [InlineData("q4_k", "L40S-48GB", 1, "m.Q4_K.gguf")]
    [InlineData("m.Q8_0.gguf", "L4-24GB", 1, "m.Q8_0.gguf")]
    [InlineData(null, "A100-80GB", 1, "m.Q8_0.gguf")]   // 65 GiB ≤ 0.85 × 80
    [InlineData(null, "L40S-48GB", 1, "m.Q4_K_M.gguf")] // 40 GiB ≤ 40.8
    [InlineData(null, "A100-80GB", 2, "m.F16.gguf")]    // 130 GiB ≤ 136
    [InlineData(null, "L4-24GB", 1, "m.F16.gguf")]      // nothing fits: the largest
    public void Gguf_file_by_quantization_or_the_largest_that_fits(string? quantization, string gpu, int numGpus, string expected)
    {
        var chosen = HubWeightsResolver.Choose(Quants, quantization, HubWeightsResolver.GpuMemoryBytes(gpu, numGpus));
        Assert.Null(chosen.Error);
        Assert.Equal(expected, chosen.File);
        Assert.Equal(WeightsFormats.Gguf, chosen.Format);
    }

    [Fact]
    public void No_match_names_what_the_repo_has_and_safetensors_go_to_an_engine()
    {
        var none = HubWeightsResolver.Choose(Quants, "Q2_K", 80 * GiB);
        Assert.Contains("no GGUF file for quantization 'Q2_K'", none.Error);
        Assert.Contains("m.Q4_K_M.gguf (40 GiB)", none.Error);

        var st = HubWeightsResolver.Choose(Repo(("model.safetensors", 100), ("config.json", 2)), "awq", 80 * GiB);
        Assert.Equal((WeightsFormats.Safetensors, ""), (st.Format, st.File));

        var nothing = HubWeightsResolver.Choose(Repo(("README.md", 5)), null, null);
        Assert.Contains("has no .gguf or .safetensors weights (files: README.md (5 B))", nothing.Error);
    }

    [Fact]
    public void Engine_templates_fill_placeholders_splice_extra_args_and_drop_empty_groups()
    {
        var launch = new InstanceLaunch("d-1", "d", "ivy/llama", "H100-80GB", 2, 64, "acme/m", new string('c', 40), "", null,
            ["--enable-prefix-caching", "--max-model-len", "4096"], null, WeightsFormats.Safetensors);
        var values = EngineCommand.Values(launch, [4, 5], "10.0.0.7", 8123, "/cache/snap dir", "/w.dll", "dotnet");
        var args = EngineCommand.Arguments(
            "serve {model_path} --host {host} --port {port} --tensor-parallel-size {tensor_parallel_size} --max-num-seqs {max_batch_size} "
            + "--served-model-name {served_model_name} [--quantization {quantization}] {extra_args}", values, launch.ExtraArgs);
        Assert.Equal(["serve", "/cache/snap dir", "--host", "10.0.0.7", "--port", "8123", "--tensor-parallel-size", "2", "--max-num-seqs", "64",
            "--served-model-name", "ivy/llama", "--enable-prefix-caching", "--max-model-len", "4096"], args);

        values["quantization"] = "awq";
        Assert.Equal(["x", "--quantization", "awq", "--gpus=4,5"], EngineCommand.Arguments("x [--quantization {quantization}] --gpus={gpus}", values, []));
        Assert.Throws<FormatException>(() => EngineCommand.Arguments("--x {nope}", values, []));
    }

    [Fact]
    public void Load_is_read_from_the_engines_own_metrics()
    {
        const string vllm = """
            # HELP vllm:num_requests_running Number of requests in model execution batches.
            vllm:num_requests_running{engine="0",model_name="m"} 3.0
            vllm:num_requests_waiting{engine="0",model_name="m"} 2.0
            vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5
            """;
        Assert.Equal(5.0, EngineCommand.ReadLoad(vllm, ["vllm:num_requests_running", "vllm:num_requests_waiting"]));
        Assert.Equal(4.0, EngineCommand.ReadLoad("llamacpp:requests_processing 4\nllamacpp:requests_deferred 0\n", ["llamacpp:requests_processing"]));
        Assert.Null(EngineCommand.ReadLoad("other 1\n", ["llamacpp:requests_processing"]));
    }
}
