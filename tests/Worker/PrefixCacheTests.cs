using DeepDeploy.GpuWorker.Engine;
using LLama.Native;
using Xunit;

namespace DeepDeploy.Tests.Worker;

/// <summary>The prefix cache's index and budget, without a model: holders are strings, freeing is recorded.</summary>
[Trait("Category", "Unit")]
public sealed class PrefixCacheTests
{
    const int B = PrefixCache<string>.BlockSize;

    readonly List<string> _freed = [];

    PrefixCache<string> NewCache(int budget, int maxEntries = 64) => new(budget, maxEntries, _freed.Add);

    static LLamaToken[] Tokens(int count, int seed) =>
        [.. Enumerable.Range(0, count).Select(i => (LLamaToken)(seed * 1000 + i))];

    static PrefixEntry<string> Live(PrefixCache<string> cache, string name, LLamaToken[] tokens)
    {
        var entry = cache.AddLive(name);
        cache.Append(entry, tokens);
        return entry;
    }

    [Fact]
    public void A_prompt_reuses_the_longest_prefix_but_keeps_its_last_token_to_decode()
    {
        var cache = NewCache(1000);
        var shared = Tokens(3 * B, 1);
        Live(cache, "short", shared[..B]);
        Live(cache, "long", [.. shared, .. Tokens(5, 2)]);

        var (source, length) = cache.Match([.. shared, .. Tokens(4, 3)]);
        Assert.Equal("long", source!.Holder);
        Assert.Equal(3 * B, length);

        // The very same prompt: every token but the last one.
        var (_, whole) = cache.Match([.. shared, .. Tokens(5, 2)]);
        Assert.Equal(3 * B + 4, whole);
    }

    [Fact]
    public void Nothing_matches_below_one_block_or_after_the_first_token_differs()
    {
        var cache = NewCache(1000);
        var tokens = Tokens(4 * B, 1);
        Live(cache, "a", tokens);

        Assert.Null(cache.Match(tokens[..B]).Source);
        LLamaToken[] changed = [.. tokens];
        changed[0] = 999_999;
        Assert.Null(cache.Match(changed).Source);
        Assert.Equal(0, cache.Match(changed).Length);
        Assert.Equal(0, NewCache(0).Match(tokens).Length);
    }

    [Fact]
    public void Retained_entries_stay_within_the_budget_under_churn_and_evicted_ones_are_freed()
    {
        const int budget = 10 * B;
        var cache = NewCache(budget, maxEntries: 6);
        var random = new Random(7);
        var retained = 0;
        for (var i = 0; i < 300; i++)
        {
            // Prompts share one of three prefixes, with random tails and lengths.
            var prefix = Tokens(random.Next(1, 4) * B, random.Next(3));
            var entry = Live(cache, $"s{i}", [.. prefix, .. Tokens(random.Next(0, 5 * B), 100 + i)]);
            if (cache.Retain(entry))
            {
                retained++;
            }
            else
            {
                _freed.Add(entry.Holder); // the engine frees what was not retained
            }

            Assert.InRange(cache.RetainedTokens, 0, budget);
            Assert.InRange(cache.RetainedEntries, 0, 6);
        }

        Assert.True(retained > 100, $"only {retained} retained");
        Assert.Equal(300 - cache.RetainedEntries, _freed.Distinct().Count());
    }

    [Fact]
    public void The_least_recently_used_entry_goes_first_and_a_hit_counts_as_use()
    {
        var cache = NewCache(3 * 2 * B);
        var a = Tokens(2 * B, 1);
        var b = Tokens(2 * B, 2);
        Assert.True(cache.Retain(Live(cache, "a", a)));
        Assert.True(cache.Retain(Live(cache, "b", b)));
        Assert.True(cache.Retain(Live(cache, "c", Tokens(2 * B, 3))));
        Assert.Equal("a", cache.Match([.. a, 5]).Source!.Holder); // a is now the most recent

        Assert.True(cache.Retain(Live(cache, "d", Tokens(2 * B, 4))));
        Assert.Equal(["b"], _freed);
        Assert.Null(cache.Match([.. b, 5]).Source);
    }

    [Fact]
    public void An_entry_contained_in_a_newer_one_is_replaced_by_it()
    {
        var cache = NewCache(1000);
        var turn1 = Tokens(2 * B, 1);
        Assert.True(cache.Retain(Live(cache, "turn1", turn1)));
        Assert.True(cache.Retain(Live(cache, "turn2", [.. turn1, .. Tokens(B, 2)])));

        Assert.Equal(["turn1"], _freed);
        Assert.Equal(3 * B, cache.RetainedTokens);
        Assert.Equal("turn2", cache.Match([.. turn1, 7]).Source!.Holder);
    }

    [Fact]
    public void A_removed_entry_is_never_matched_or_retained_even_if_more_tokens_arrive()
    {
        var cache = NewCache(1000);
        var tokens = Tokens(2 * B, 1);
        var entry = Live(cache, "gone", tokens);
        cache.Remove(entry);
        cache.Append(entry, Tokens(B, 2));

        Assert.Null(cache.Match([.. tokens, 1]).Source);
        Assert.False(cache.Retain(entry));
        Assert.False(cache.EvictOne());
    }

    [Fact]
    public void Copies_of_a_cached_prefix_are_charged_their_own_tokens_and_take_the_prefix_over_when_it_goes()
    {
        var cache = NewCache(8 * B);
        var system = Tokens(4 * B, 1);
        Assert.True(cache.Retain(Live(cache, "first", [.. system, .. Tokens(B, 2)])));

        // Three questions on the same system prompt, each copying it from the most recent holder: 5 B + 3 x B.
        for (var q = 0; q < 3; q++)
        {
            LLamaToken[] prompt = [.. system, .. Tokens(B, 10 + q)];
            var (source, length) = cache.Match(prompt);
            Assert.Equal(4 * B, length);
            var entry = cache.AddLive($"q{q}");
            cache.Append(entry, prompt);
            cache.Share(entry, source!, length);
            Assert.Equal(B, entry.Charge);
            Assert.True(cache.Retain(entry));
        }

        Assert.Equal(4, cache.RetainedEntries);
        Assert.Equal(5 * B + 3 * B, cache.RetainedTokens);
        Assert.Empty(_freed);

        // The original goes (least recently used): its system prompt cells stay, charged to the copy that used them.
        Assert.True(cache.EvictOne());
        Assert.Equal(["first"], _freed);
        Assert.Equal(5 * B + 2 * B, cache.RetainedTokens);
        Assert.Equal(4 * B, cache.Match([.. system, 7]).Length);

        // Without sharing, the same entries would not fit: each would cost its whole length.
        var plain = NewCache(8 * B);
        Assert.True(plain.Retain(Live(plain, "a", [.. system, .. Tokens(B, 2)])));
        Assert.True(plain.Retain(Live(plain, "b", [.. system, .. Tokens(B, 3)])));
        Assert.Equal(5 * B, plain.RetainedTokens);
        Assert.Equal(1, plain.RetainedEntries);
    }
}
