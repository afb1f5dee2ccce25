using DeepDeploy.Gateway.Auth;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Security;

/// <summary>The gateway's token cache: one directory look-up per token per interval, revocations seen within the
/// interval plus one look-up, and known tokens served while the directory cannot answer, for a bounded grace.</summary>
[Trait("Category", "Unit")]
public sealed class BearerTokenCacheTests
{
    const string Token = "dd_token_of_alice_0123456789abcdef";
    readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    readonly ScriptedTokenLookup _directory = new();

    BearerTokenCache Cache(TimeSpan? grace = null) => new(_directory, _time, Options.Create(new AuthOptions
    {
        TokenCacheTime = TimeSpan.FromSeconds(4),
        UnknownTokenCacheTime = TimeSpan.FromSeconds(30),
        StaleTokenGrace = grace ?? TimeSpan.FromMinutes(2),
    }), NullLogger<BearerTokenCache>.Instance);

    [Fact]
    public async Task A_known_token_is_looked_up_once_per_cache_time()
    {
        _directory.Add(Token, "alice");
        var cache = Cache();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("alice", await cache.FindUserAsync(Token));
            _time.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.Equal(1, _directory.Calls);
    }

    [Fact]
    public async Task A_token_s_principal_is_built_once_per_look_up_and_is_only_its_own_user_s()
    {
        const string other = "dd_token_of_bob_0123456789abcdef00";
        _directory.Add(Token, "alice");
        _directory.Add(other, "bob");
        var cache = Cache();
        var caller = await cache.FindCallerAsync(Token);
        Assert.False(caller!.IsOperator);
        Assert.True(caller.CanUse("alice"));
        Assert.False(caller.CanUse("bob"));
        var alice = caller.Principal;
        Assert.Equal("alice", alice.Identity?.Name);
        Assert.True(alice.IsInRole(Roles.User));
        Assert.False(alice.IsInRole(Roles.Operator));
        Assert.Same(alice, (await cache.FindCallerAsync(Token))?.Principal);
        Assert.Equal("bob", (await cache.FindCallerAsync(other))?.Principal.Identity?.Name);
        Assert.Null(await cache.FindCallerAsync("dd_token_nobody_has_0123456789abcd"));

        // The token now names someone else (the directory's answer changed): its next look-up makes a new principal.
        _directory.Users.Clear();
        _directory.Add(Token, "carol");
        _time.Advance(TimeSpan.FromSeconds(4));
        await cache.FindCallerAsync(Token);
        await Eventually.TrueAsync(async () => (await cache.FindCallerAsync(Token))?.Name == "carol", TimeSpan.FromSeconds(10), "the new user seen");
        Assert.Equal("alice", alice.Identity?.Name);
    }

    [Fact]
    public async Task A_revocation_is_seen_one_look_up_after_the_cache_time()
    {
        _directory.Add(Token, "alice");
        var cache = Cache();
        Assert.Equal("alice", await cache.FindUserAsync(Token));

        _directory.Users.Clear(); // revoked
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal("alice", await cache.FindUserAsync(Token)); // answered at once; the re-validation runs behind it
        await Eventually.TrueAsync(async () => await cache.FindUserAsync(Token) is null, TimeSpan.FromSeconds(10), "the revocation seen");
        Assert.Equal(2, _directory.Calls);
    }

    [Fact]
    public async Task A_known_token_is_served_while_the_directory_is_unreachable_until_the_grace_ends()
    {
        _directory.Add(Token, "alice");
        var cache = Cache(grace: TimeSpan.FromMinutes(2));
        Assert.Equal("alice", await cache.FindUserAsync(Token));

        _directory.Unreachable = true;
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("alice", await cache.FindUserAsync(Token));
        await Eventually.TrueAsync(() => _directory.Calls == 2, TimeSpan.FromSeconds(10), "a re-validation attempted");

        // Each request past the cache time tries again (one at a time) and is still answered.
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("alice", await cache.FindUserAsync(Token));
        await Eventually.TrueAsync(() => _directory.Calls == 3, TimeSpan.FromSeconds(10), "another re-validation attempted");

        // Past the grace the request waits for the directory and sees its failure (the gateway answers 503).
        _time.Advance(TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<TimeoutException>(async () => await cache.FindUserAsync(Token));

        // The directory back: the token is fresh again.
        _directory.Unreachable = false;
        Assert.Equal("alice", await cache.FindUserAsync(Token));
    }

    [Fact]
    public async Task One_re_validation_runs_at_a_time_however_many_requests_arrive()
    {
        _directory.Add(Token, "alice");
        var cache = Cache();
        Assert.Equal("alice", await cache.FindUserAsync(Token));

        _directory.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("alice", await cache.FindUserAsync(Token));
        }

        Assert.Equal(2, _directory.Calls);
        _directory.Gate.SetResult();
    }

    [Fact]
    public async Task Without_a_grace_an_expired_token_waits_for_the_directory()
    {
        _directory.Add(Token, "alice");
        var cache = Cache(grace: TimeSpan.Zero);
        Assert.Equal("alice", await cache.FindUserAsync(Token));

        _directory.Unreachable = true;
        _time.Advance(TimeSpan.FromSeconds(4));
        await Assert.ThrowsAsync<TimeoutException>(async () => await cache.FindUserAsync(Token));
    }

    [Fact]
    public async Task An_unknown_token_is_never_served_from_a_stale_entry()
    {
        var cache = Cache();
        Assert.Null(await cache.FindUserAsync(Token));
        Assert.Null(await cache.FindUserAsync(Token));
        Assert.Equal(1, _directory.Calls);

        _directory.Unreachable = true;
        _time.Advance(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<TimeoutException>(async () => await cache.FindUserAsync(Token));
    }
}
