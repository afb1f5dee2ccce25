using System.Globalization;
using System.Text;
using LLama;
using LLama.Common;

namespace DeepDeploy.Tests.Worker;

/// <summary>The shared-prefix workloads' text: system prompts grown until the model's own tokenizer counts the asked
/// number of tokens, and short questions.</summary>
static class BenchmarkPrompts
{
    static readonly string[] Words = ["policy", "tenant", "deploy", "model", "weights", "cluster", "gateway", "route",
        "token", "cache", "batch", "prefill", "decode", "queue", "replica", "region"];

    /// <summary><paramref name="count"/> distinct system prompts of at least <paramref name="tokens"/> tokens each
    /// (from <paramref name="tokens"/> for the first to <paramref name="maxTokens"/> for the last, when larger),
    /// starting with <paramref name="tag"/> (so that two workloads share no prefix).</summary>
    public static List<string> SystemPrompts(string modelPath, int count, int tokens, string tag = "", int maxTokens = 0)
    {
        using var vocab = LLamaWeights.LoadFromFile(new ModelParams(modelPath) { VocabOnly = true, GpuLayerCount = 0 });
        return [.. Enumerable.Range(0, count).Select(p =>
        {
            var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{tag}System prompt {p}. ");
            var length = maxTokens > tokens && count > 1 ? tokens + (maxTokens - tokens) * p / (count - 1) : tokens;
            // Counted every 16 words (a word is a token or two): tokenizing after each word is quadratic.
            for (var w = 0; w % 16 != 0 || vocab.Tokenize(text.ToString(), true, false, Encoding.UTF8).Length < length; w++)
            {
                text.Append(Words[(w * 7 + p * 3) % Words.Length]).Append(w % 9 == 8 ? ". " : " ");
            }

            return text.ToString();
        })];
    }

    public static string Question(int prompt, int question) =>
        $"question {question} about {Words[(prompt + question) % Words.Length]}?";
}
