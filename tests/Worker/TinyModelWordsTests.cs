using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Worker;

/// <summary>The seeded tiny model through the real worker process (llama.cpp loads and detokenizes it): a first chat
/// answer reads as a string of words, greedy and sampled.</summary>
public sealed class TinyModelWordsTests(SharedWorkerFixture fixture, ITestOutputHelper output) : IClassFixture<SharedWorkerFixture>
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    public async Task A_chat_answer_is_mostly_words(double temperature)
    {
        var request = WorkerApi.Chat("Hello! How are you today?", maxTokens: 40, temperature: temperature);
        request["model"] = SharedWorkerFixture.ServedName;
        var (status, body) = await WorkerApi.PostAsync(fixture.Worker.Http, "/v1/chat/completions", request);
        Assert.True(status == 200, body.ToString());

        var text = WorkerApi.ChatText(body);
        output.WriteLine($"temperature {temperature}: {JsonSerializer.Serialize(text)}");
        Assert.DoesNotContain('\uFFFD', text);
        Assert.True(TinyLlamaGgufTests.WordShare(text) >= 0.8, $"mostly words expected: '{text}'");
    }
}
