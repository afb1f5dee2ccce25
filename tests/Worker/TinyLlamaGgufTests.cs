using System.Security.Cryptography;
using System.Text;
using DeepDeploy.LocalHub;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Sampling;
using Xunit;

namespace DeepDeploy.Tests.Worker;

[Trait("Category", "Unit")]
public sealed class TinyLlamaGgufTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "deepdeploy-gguf-tests-" + Guid.NewGuid().ToString("N"));

    public TinyLlamaGgufTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_other_seed_differs()
    {
        var a = Path.Combine(_dir, "a.gguf");
        var b = Path.Combine(_dir, "b.gguf");
        var c = Path.Combine(_dir, "c.gguf");
        TinyLlamaGguf.Write(a, seed: 7);
        TinyLlamaGguf.Write(b, seed: 7);
        TinyLlamaGguf.Write(c, seed: 8);

        var bytesA = File.ReadAllBytes(a);
        Assert.Equal(SHA256.HashData(bytesA), SHA256.HashData(File.ReadAllBytes(b)));
        Assert.NotEqual(SHA256.HashData(bytesA), SHA256.HashData(File.ReadAllBytes(c)));
        Assert.Equal("GGUF"u8.ToArray(), bytesA[..4]);
        Assert.Equal(3u, BitConverter.ToUInt32(bytesA, 4));
        Assert.InRange(bytesA.Length, 300_000, 1_000_000);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp")); // written via temp file + move
    }

    [Fact]
    public void Overwrites_existing_file_in_place()
    {
        var path = Path.Combine(_dir, "nested", "model.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "not a model");
        TinyLlamaGguf.Write(path);
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(path)[..4]);
    }

    [Fact]
    public async Task Written_model_loads_in_LLamaSharp_and_generates_deterministically()
    {
        var path = Path.Combine(_dir, "tiny.gguf");
        TinyLlamaGguf.Write(path);
        var p = new ModelParams(path) { ContextSize = 256, BatchSize = 256, SeqMax = 2, Threads = 1, BatchThreads = 1 };
        using var weights = LLamaWeights.LoadFromFile(p);
        Assert.Equal(64, weights.EmbeddingSize);
        Assert.Equal(3 + 256 + WordVocabulary.Pieces.Count, weights.Vocab.Count);

        // Every byte value is representable (byte-fallback tokens), including non-ASCII text.
        var tokens = weights.Tokenize("hello world ü €", true, false, Encoding.UTF8);
        Assert.True(tokens.Length > 3);

        using var executor = new BatchedExecutor(weights, p);
        async Task<List<int>> GenerateAsync()
        {
            using var conversation = executor.Create();
            conversation.Prompt(tokens);
            using var sampler = new GreedySamplingPipeline();
            var result = new List<int>();
            for (var i = 0; i < 16; i++)
            {
                Assert.Equal(LLama.Native.DecodeResult.Ok, await executor.Infer());
                var token = conversation.Sample(sampler);
                result.Add((int)token);
                if (i < 15)
                {
                    conversation.Prompt(token); // nothing may stay queued when the conversation is disposed
                }
            }
            return result;
        }

        var first = await GenerateAsync();
        var second = await GenerateAsync();
        Assert.Equal(16, first.Count);
        Assert.Equal(first, second);
        Assert.DoesNotContain(2, first); // the tiny model is built never to pick </s>
    }

    [Fact]
    public void Vocabulary_is_distinct_words_and_punctuation()
    {
        Assert.Equal(WordVocabulary.Pieces.Count, WordVocabulary.Pieces.Distinct(StringComparer.Ordinal).Count());
        Assert.True(WordVocabulary.Words.Length >= 200, $"{WordVocabulary.Words.Length} words");
        Assert.All(WordVocabulary.Words, w => Assert.Matches("^[A-Za-z]+$", w));
    }

    [Fact]
    public void Generated_text_detokenizes_to_mostly_words()
    {
        var path = Path.Combine(_dir, "words.gguf");
        TinyLlamaGguf.Write(path);
        var p = new ModelParams(path) { ContextSize = 256, BatchSize = 256, Threads = 1, BatchThreads = 1 };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var context = weights.CreateContext(p);
        var executor = new StatelessExecutor(weights, p);

        var text = string.Concat(executor.InferAsync("Hello there, tell me a story.", new InferenceParams
        {
            MaxTokens = 48,
            SamplingPipeline = new DefaultSamplingPipeline { Temperature = 0.8f, Seed = 7 },
        }).ToBlockingEnumerable());

        Assert.True(WordShare(text) >= 0.8, $"mostly words expected: '{text}'");
    }

    /// <summary>The share of whitespace-separated pieces of <paramref name="text"/> that are vocabulary words (with any
    /// punctuation after them); bytes that decode to nothing readable count against it.</summary>
    public static double WordShare(string text)
    {
        var words = WordVocabulary.Words.ToHashSet(StringComparer.Ordinal);
        var parts = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var known = parts.Count(part =>
        {
            var bare = part;
            foreach (var mark in WordVocabulary.Punctuation.OrderByDescending(m => m.Length))
            {
                while (bare.Length > mark.Length && bare.EndsWith(mark, StringComparison.Ordinal))
                {
                    bare = bare[..^mark.Length];
                }
            }

            return words.Contains(bare);
        });
        return parts.Length == 0 ? 0 : known / (double)parts.Length;
    }
}
