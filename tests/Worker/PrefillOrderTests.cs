using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.Support;
using Xunit;
using Metrics = DeepDeploy.WorkerProtocol.WorkerProtocol.Metrics;

namespace DeepDeploy.Tests.Worker;

/// <summary>Shortest-prefill-first in a real worker on the tiny model, judged by the order of stream events: short
/// prompts that arrive while a long prompt is prefilling are answered in full before the long one's first token.
/// Runs at <c>--prefill-chunk 1</c> with the prefix cache on, which llama.cpp used to abort on (its batch was smaller
/// than its sequence count).</summary>
public sealed class PrefillOrderTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    /// <summary>About 3,000 tokens of the tiny model: as many decode steps at one prompt token per step.</summary>
    internal static readonly string LongPrompt = string.Concat(Enumerable.Repeat("hello world how are you ", 130));

    const int ShortMaxTokens = 4;

    [Fact]
    public async Task Short_prompts_are_answered_while_a_long_prompt_is_still_prefilling()
    {
        await using var worker = await WorkerProcess.StartAsync(model.ModelPath,
            ["--prefill-chunk", "1", "--max-batch-size", "4", "--context-size", "16384"]);
        await worker.WaitHealthyAsync();

        var events = new ConcurrentQueue<string>();
        using var stopLong = new CancellationTokenSource();
        var longRun = StreamAsync(worker.Http, "long", LongPrompt, maxTokens: 1, events, stopLong.Token);
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.SequenceTokens) > 0,
            TimeSpan.FromSeconds(60), "the long prompt prefilling");

        var shorts = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            StreamAsync(worker.Http, $"short{i}", $"question {i}?", ShortMaxTokens, events, CancellationToken.None)));
        var seen = events.ToArray();

        // Every short request decoded all its tokens (one per step, beside the long prefill) before the long
        // prompt's last chunk: first-come order would have kept them behind its 3,000 steps.
        Assert.All(shorts, completionTokens => Assert.InRange(completionTokens, 1, ShortMaxTokens));
        Assert.Equal(["short0 done", "short1 done", "short2 done"], seen.Where(e => e.EndsWith(" done", StringComparison.Ordinal)).Order());
        Assert.DoesNotContain("long first", seen);

        await stopLong.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => longRun);
        await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.RequestsRunning) == 0,
            TimeSpan.FromSeconds(30), "the cancelled long request released");
        Assert.False(worker.HasExited, worker.Stderr);
    }

    /// <summary>Streams a completion, adding "NAME first" at its first event and "NAME done" at its end to
    /// <paramref name="events"/>; returns its completion tokens.</summary>
    static async Task<int> StreamAsync(HttpClient http, string name, string prompt, int maxTokens,
        ConcurrentQueue<string> events, CancellationToken ct)
    {
        var body = new JsonObject { ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        string? last = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            if (last is null)
            {
                events.Enqueue($"{name} first");
            }

            last = line == "data: [DONE]" ? last : line["data: ".Length..];
        }

        events.Enqueue($"{name} done");
        return JsonDocument.Parse(last!).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
    }
}
