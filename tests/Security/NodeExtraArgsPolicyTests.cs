using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Security;

[Trait("Category", "Unit")]
public sealed class NodeExtraArgsPolicyTests
{
    /// <summary>The cases' arguments, space-separated (none holds a space).</summary>
    static string[] Split(string extraArgs) => extraArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    static readonly EngineProfile Vllm = new() { AllowedArgs = ["--max-model-len", "--dtype", "--enforce-eager"] };

    [Theory]
    [InlineData("")]
    [InlineData("--max-model-len 4096")]
    [InlineData("--max-model-len=4096 --dtype half")]
    [InlineData("--enforce-eager --dtype=bfloat16")]
    public void Flags_the_profile_allows_pass(string extraArgs) => ExtraArgsPolicy.Ensure("vllm", Vllm, Split(extraArgs));

    [Theory]
    [InlineData("--trust-remote-code", "--trust-remote-code")]
    [InlineData("--dtype half --trust-remote-code=true", "--trust-remote-code")]
    [InlineData("--max-model-len --trust-remote-code", "--trust-remote-code")]
    [InlineData("other/model", "other/model")]
    [InlineData("--dtype=half evil", "evil")]
    [InlineData("--dtype half evil", "evil")]
    [InlineData("--DTYPE half", "--DTYPE")]
    [InlineData("-q awq", "-q")]
    public void Anything_else_is_refused_naming_the_argument(string extraArgs, string named)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ExtraArgsPolicy.Ensure("vllm", Vllm, Split(extraArgs)));

        Assert.StartsWith($"extra_args: '{named}' is not allowed by engine profile 'vllm' (AllowedArgs: --max-model-len, --dtype, --enforce-eager)", refused.Message);
    }

    [Fact]
    public void A_profile_without_an_allow_list_takes_no_extra_args()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ExtraArgsPolicy.Ensure("llama", new EngineProfile(), ["--ctx-size", "8"]));

        Assert.Contains("(AllowedArgs: none)", refused.Message);
    }
}
