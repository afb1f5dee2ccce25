using DeepDeploy.Gateway.Inference;

namespace DeepDeploy.Tests.Gateway;

/// <summary>What an instance's slot parses once and every forward to it shares: the engine's URL per API and the
/// secret's header.</summary>
[Trait("Category", "Unit")]
public sealed class InstanceSlotTests
{
    [Fact]
    public void Engine_urls_are_the_endpoint_and_the_engine_path_parsed_once_per_api()
    {
        var slot = new InstanceSlot("i-1", "http://127.0.0.1:23001", "s3cret");

        var chat = slot.EngineUri(EngineTransformer.Chat);
        var completions = slot.EngineUri(EngineTransformer.Completions);

        Assert.Equal("http://127.0.0.1:23001/v1/chat/completions", chat.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:23001/v1/completions", completions.AbsoluteUri);
        Assert.Same(chat, slot.EngineUri(EngineTransformer.Chat));
        Assert.Same(completions, slot.EngineUri(EngineTransformer.Completions));
    }

    [Fact]
    public void The_secret_is_presented_as_a_bearer_header_and_no_secret_presents_none()
    {
        var header = new InstanceSlot("i-1", "http://127.0.0.1:23001", "s3cret").Authorization;

        Assert.NotNull(header);
        Assert.Equal("Bearer s3cret", header.ToString());
        Assert.Null(new InstanceSlot("i-2", "http://127.0.0.1:23002").Authorization);
    }
}
