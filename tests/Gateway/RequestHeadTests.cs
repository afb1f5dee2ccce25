using System.Text;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference;

namespace DeepDeploy.Tests.Gateway;

/// <summary>What the gateway reads of an OpenAI body before forwarding it: the model, and max_tokens as the request's
/// size for routing; anything it cannot use as a size is left to the engine.</summary>
[Trait("Category", "Unit")]
public sealed class RequestHeadTests
{
    static RequestHead Read(string json) => RequestHead.Read(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("""{"model":"a/b","max_tokens":100}""", 100)]
    [InlineData("""{"max_completion_tokens":7,"model":"a/b","max_tokens":100}""", 7)]
    [InlineData("""{"model":"a/b","max_tokens":100,"max_completion_tokens":7}""", 7)]
    [InlineData("""{"model":"a/b"}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":0}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":-5}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":1.5}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":99999999999}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":"100"}""", null)]
    [InlineData("""{"model":"a/b","max_tokens":{"n":[1,2]},"stream":true}""", null)]
    [InlineData("""{"model":"a/b","messages":[{"max_tokens":9}]}""", null)]
    public void Reads_max_tokens_at_the_top_level_as_the_size_when_it_is_a_positive_integer(string json, int? expected)
    {
        var head = Read(json);
        Assert.Equal("a/b", head.Model);
        Assert.Equal(expected, head.MaxTokens);
    }

    [Theory]
    [InlineData("""{"model":"a/b","model":"c/d"}""", "model")]
    [InlineData("""{"model":3}""", "model")]
    [InlineData("""[1]""", "body")]
    [InlineData("""{"model":"a/b"} x""", "body")]
    [InlineData("""{"model":"a/b","max_tokens":}""", "body")]
    public void Refuses_a_body_it_cannot_route_naming_the_field(string json, string field) =>
        Assert.Equal(field, Assert.Throws<BadRequestException>(() => Read(json)).Field);
}
