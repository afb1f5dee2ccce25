using System.Net;
using DeepDeploy.Gateway.Auth;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Security;

[Trait("Category", "Unit")]
public sealed class TokensThrottleTests
{
    readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    AuthFailureThrottle Throttle(int limit = 3, int maxSources = 100) => new(_time, Options.Create(new AuthOptions
    {
        FailureLimit = limit,
        FailureWindow = TimeSpan.FromMinutes(1),
        MaxTrackedSources = maxSources,
    }));

    [Fact]
    public void A_source_is_refused_after_the_limit_until_its_window_ends()
    {
        var throttle = Throttle();
        var source = IPAddress.Parse("203.0.113.7");
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(throttle.RetryAfter(source));
            throttle.RecordFailure(source);
        }

        Assert.Equal(TimeSpan.FromMinutes(1), throttle.RetryAfter(source));
        Assert.Null(throttle.RetryAfter(IPAddress.Parse("203.0.113.8")));

        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), throttle.RetryAfter(source));

        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(throttle.RetryAfter(source));
        throttle.RecordFailure(source);
        Assert.Null(throttle.RetryAfter(source));
    }

    [Fact]
    public void Ipv6_sources_count_per_64_and_mapped_ipv4_as_ipv4()
    {
        var throttle = Throttle(limit: 2);
        throttle.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        throttle.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::9"));
        Assert.NotNull(throttle.RetryAfter(IPAddress.Parse("2001:db8:1:2::abcd")));
        Assert.Null(throttle.RetryAfter(IPAddress.Parse("2001:db8:1:3::1")));

        throttle.RecordFailure(IPAddress.Parse("::ffff:198.51.100.1"));
        throttle.RecordFailure(IPAddress.Parse("198.51.100.1"));
        Assert.NotNull(throttle.RetryAfter(IPAddress.Parse("198.51.100.1")));
    }

    [Fact]
    public void Tracked_sources_stay_bounded()
    {
        var throttle = Throttle(limit: 1, maxSources: 10);
        for (var i = 0; i < 1000; i++)
        {
            throttle.RecordFailure(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)));
        }

        Assert.InRange(throttle.TrackedSources, 1, 10);
    }
}
