using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Security;

/// <summary>Named API tokens, revocation and failed-authentication throttling, through the all-in-one host's HTTP API.</summary>
[Collection(SystemCollection.Name)]
public sealed class TokensApiTests
{
    static readonly TimeSpan RevocationBound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Several_named_tokens_work_side_by_side_and_no_secret_is_ever_listed()
    {
        await using var system = await RunningSystem.StartAsync();
        var first = await system.CreateUserAsync("alice");
        using var alice = system.Client(first);

        var created = await alice.PostAsJsonAsync("/v1/me/tokens", new { name = "ci" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        Assert.NotEqual(first, second);

        using var aliceCi = system.Client(second);
        foreach (var client in new[] { alice, aliceCi })
        {
            var me = await client.GetFromJsonAsync<JsonElement>("/v1/me");
            Assert.Equal("alice", me.GetProperty("name").GetString());
        }

        var again = await alice.PostAsJsonAsync("/v1/me/tokens", new { name = "ci" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var badName = await alice.PostAsJsonAsync("/v1/me/tokens", new { name = "ci\n" });
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal("name", (await badName.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("field").GetString());

        using var admin = system.Client(RunningSystem.AdminToken);
        foreach (var (client, path) in new[] { (alice, "/v1/me/tokens"), (admin, "/admin/users/alice/tokens") })
        {
            var listing = await client.GetStringAsync(path);
            Assert.DoesNotContain(first, listing, StringComparison.Ordinal);
            Assert.DoesNotContain(second, listing, StringComparison.Ordinal);
            var names = JsonDocument.Parse(listing).RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToArray();
            Assert.Equal(new[] { "default", "ci" }, names);
        }

        // A user sees only their own tokens and cannot use the operator's listing.
        var bob = await system.CreateUserAsync("bob");
        using var bobClient = system.Client(bob);
        var bobs = await bobClient.GetFromJsonAsync<JsonElement>("/v1/me/tokens");
        Assert.Equal(new[] { "default" }, bobs.EnumerateArray().Select(t => t.GetProperty("name").GetString()!));
        Assert.Equal(HttpStatusCode.Forbidden, (await bobClient.GetAsync("/admin/users/alice/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bobClient.DeleteAsync("/v1/me/tokens/ci")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await aliceCi.GetAsync("/v1/me")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_within_5_s_while_the_others_keep_working()
    {
        await using var system = await RunningSystem.StartAsync();
        var first = await system.CreateUserAsync("carol");
        using var carol = system.Client(first);
        var created = await carol.PostAsJsonAsync("/v1/me/tokens", new { name = "laptop" });
        var laptop = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        using var carolLaptop = system.Client(laptop);
        Assert.Equal(HttpStatusCode.OK, (await carolLaptop.GetAsync("/v1/me")).StatusCode); // now cached by the gateway

        var revoked = await carol.DeleteAsync("/v1/me/tokens/laptop");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => (await carolLaptop.GetAsync("/v1/me")).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(10), "the revoked token refused");
        Assert.True(clock.Elapsed <= RevocationBound, $"refused after {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync("/v1/me")).StatusCode);

        var listing = await carol.GetFromJsonAsync<JsonElement>("/v1/me/tokens");
        Assert.Equal(new[] { "default" }, listing.EnumerateArray().Select(t => t.GetProperty("name").GetString()!));
    }

    [Fact]
    public async Task The_operator_revokes_all_of_a_users_tokens_within_5_s_and_may_issue_a_new_one()
    {
        await using var system = await RunningSystem.StartAsync();
        var first = await system.CreateUserAsync("dave");
        using var dave = system.Client(first);
        var second = (await (await dave.PostAsJsonAsync("/v1/me/tokens", new { name = "ci" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("token").GetString()!;
        using var daveCi = system.Client(second);
        Assert.Equal(HttpStatusCode.OK, (await dave.GetAsync("/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await daveCi.GetAsync("/v1/me")).StatusCode);

        using var admin = system.Client(RunningSystem.AdminToken);
        var revoke = await admin.PostAsync("/admin/users/dave/revoke", null);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(2, (await revoke.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32());
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () =>
                (await dave.GetAsync("/v1/me")).StatusCode == HttpStatusCode.Unauthorized
                && (await daveCi.GetAsync("/v1/me")).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(10), "every token of the user refused");
        Assert.True(clock.Elapsed <= RevocationBound, $"refused after {clock.Elapsed}");

        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/admin/users/nobody/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/admin/users/a%0A/revoke", null)).StatusCode);

        var issued = await admin.PostAsJsonAsync("/admin/users/dave/tokens", new { name = "replacement" });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        using var daveAgain = system.Client((await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await daveAgain.GetAsync("/v1/me")).StatusCode);
    }

    [Fact]
    public async Task After_the_failure_limit_a_source_gets_429_with_retry_after_even_with_a_good_token()
    {
        await using var system = await RunningSystem.StartAsync(settings: new Dictionary<string, string>
        {
            ["DeepDeploy:Auth:FailureLimit"] = "5",
            ["DeepDeploy:Auth:FailureWindow"] = "00:10:00",
        });
        var good = await system.CreateUserAsync("erin");
        using var erin = system.Client(good);
        Assert.Equal(HttpStatusCode.OK, (await erin.GetAsync("/v1/me")).StatusCode);

        for (var i = 0; i < 5; i++)
        {
            using var guesser = system.Client($"dd-guess-{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/v1/me")).StatusCode);
        }

        using var sixth = system.Client("dd-guess-5");
        var throttled = await sixth.GetAsync("/v1/me");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        var retryAfter = throttled.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(500), TimeSpan.FromMinutes(10));
        var error = (await throttled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("too_many_auth_failures", error.GetProperty("code").GetString());

        // The token is not even looked at: the operator's is refused the same way from this source.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await erin.GetAsync("/v1/me")).StatusCode);
        using var admin = system.Client(RunningSystem.AdminToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await admin.GetAsync("/admin/users")).StatusCode);

        // Without credentials nothing is counted or refused beyond the usual 401.
        using var anonymous = system.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/me")).StatusCode);
    }
}
