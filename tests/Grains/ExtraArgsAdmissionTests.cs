using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Grains;

/// <summary>The create-time reading of extra_args against the engines nodes advertise (no cluster).</summary>
[Trait("Category", "Unit")]
public sealed class ExtraArgsAdmissionTests
{
    static readonly NodeEngine Builtin = new("builtin", [WeightsFormats.Gguf], []);
    static readonly NodeEngine Vllm = new("vllm", [WeightsFormats.Safetensors], ["--dtype", "--max-model-len"]);
    static readonly NodeEngine Sglang = new("sglang", [WeightsFormats.Safetensors], ["--context-length"]);

    static NodeCapacity Node(string name, string gpu, params NodeEngine[]? engines) =>
        new(name, true, new Dictionary<string, int> { [gpu] = 4 }, new Dictionary<string, int> { [gpu] = 4 }, null, null, engines);

    static DeploymentSpec Spec(string gpu, params string[] extraArgs) =>
        new("u", "m", gpu, 1, 4, "a/b", null, null, 1, 1, extraArgs);

    static DeploymentError? Refuse(DeploymentSpec spec, params NodeCapacity[] nodes) => ExtraArgsAdmission.Refuse(new ClusterCapacity(nodes), spec);

    [Fact]
    public void Flags_pass_when_one_engine_of_a_node_with_the_gpu_type_allows_them_all()
    {
        var nodes = new[] { Node("a", "A100-80GB", Builtin, Vllm), Node("h", "H100-80GB", Builtin, Sglang) };
        Assert.Null(Refuse(Spec("A100-80GB"), nodes));
        Assert.Null(Refuse(Spec("A100-80GB", "--dtype", "half", "--max-model-len=4096"), nodes));
        Assert.Null(Refuse(Spec("H100-80GB", "--context-length", "8192"), nodes));
    }

    [Theory]
    [InlineData("A100-80GB", "--context-length 8192", "--context-length")] // only the H100 nodes' engine allows it
    [InlineData("A100-80GB", "--dtype half --trust-remote-code", "--trust-remote-code")]
    [InlineData("A100-80GB", "--dtype half extra", "extra")] // a positional argument
    [InlineData("A100-80GB", "--trust-remote-code=true", "--trust-remote-code")]
    [InlineData("L4", "--context-length 1 --seed 1", "--seed")] // no L4 node yet: every node's engines count
    public void The_refusal_names_the_argument_no_engine_passes(string gpu, string extraArgs, string named)
    {
        var error = Refuse(Spec(gpu, extraArgs.Split(' ')), Node("a", "A100-80GB", Builtin, Vllm), Node("h", "H100-80GB", Builtin, Sglang));
        Assert.NotNull(error);
        Assert.Equal((DeploymentErrorKind.Invalid, "extra_args_not_allowed", "extra_args"), (error.Kind, error.Code, error.Field));
        Assert.StartsWith($"extra_args: '{named}' is not allowed by any engine of the nodes that run {gpu}", error.Message);
    }

    [Fact]
    public void Only_the_built_in_worker_allows_no_extra_args_at_all()
    {
        var error = Refuse(Spec("A100-80GB", "--ctx-size", "8"), Node("a", "A100-80GB", Builtin));
        Assert.Equal("extra_args: '--ctx-size' is not allowed by any engine of the nodes that run A100-80GB (allowed flags: none).", error?.Message);
    }

    [Fact]
    public void Without_advertised_engines_the_launch_decides()
    {
        Assert.Null(Refuse(Spec("A100-80GB", "--anything")));
        Assert.Null(Refuse(Spec("A100-80GB", "--anything"), Node("a", "A100-80GB", Builtin), Node("b", "A100-80GB", null)));
    }

    [Fact]
    public void A_node_advertises_the_engine_it_would_pick_for_each_format()
    {
        var options = new NodeOptions
        {
            Engines =
            {
                ["vllm"] = new EngineProfile { Formats = "safetensors", AllowedArgs = ["--dtype"] },
                ["llama"] = new EngineProfile { Formats = "gguf", AllowedArgs = ["--ctx-size"] },
            },
        };
        var builtin = EngineSelection.Advertised(options);
        Assert.Equal(["builtin", "vllm"], builtin.Select(e => e.Name));
        Assert.Equal([WeightsFormats.Gguf], builtin[0].Formats);
        Assert.Empty(builtin[0].AllowedArgs);
        Assert.Equal(["--dtype"], builtin[1].AllowedArgs);

        options.GgufEngine = "llama";
        Assert.Equal([("llama", "--ctx-size"), ("vllm", "--dtype")], EngineSelection.Advertised(options).Select(e => (e.Name, e.AllowedArgs.Single())));
        Assert.Empty(EngineSelection.Advertised(new NodeOptions { GgufEngine = "missing" }));
    }
}
