using System.Globalization;
using System.Net;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>
/// The Bearer scheme's rules, in one place for its two users: ASP.NET Core's <see cref="BearerTokenHandler"/> (every
/// API endpoint) and the inference endpoints, which call it directly so that a request builds none of the
/// authentication and authorization middleware's per-request objects (docs/gateway.md "Where the time goes"). A
/// throttled source is refused before its token is looked at; the operator's token is compared in fixed time; a user's
/// is answered by <see cref="BearerTokenCache"/>; every failure counts against the source.
/// </summary>
public sealed class BearerAuthenticator(IOptions<GatewayOptions> gateway, BearerTokenCache users, AuthFailureThrottle throttle)
{
    const string Prefix = "Bearer ";

    /// <summary>Completes at once for a cached token (no allocation); waits for the directory only on a miss.</summary>
    public ValueTask<BearerOutcome> AuthenticateAsync(HttpContext http)
    {
        string? header = http.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return new(new BearerOutcome(null));
        }

        // The feature, not HttpContext.Connection: that makes a ConnectionInfo per request on first use.
        var source = http.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        if (throttle.RetryAfter(source) is { } wait)
        {
            return new(new BearerOutcome(null, "Too many failed authentications from this address.", wait));
        }

        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            throttle.RecordFailure(source);
            return new(new BearerOutcome(null, "Authorization header must be 'Bearer <token>'."));
        }

        var token = header.AsSpan(Prefix.Length).Trim();
        var adminToken = gateway.Value.AdminToken;
        if (adminToken.Length > 0 && TokenHasher.FixedTimeEquals(token, adminToken))
        {
            return new(new BearerOutcome(BearerCaller.Operator));
        }

        var user = users.FindCallerAsync(token);
        return user.IsCompletedSuccessfully ? new(Known(user.Result, source)) : KnownAsync(user, source);
    }

    async ValueTask<BearerOutcome> KnownAsync(ValueTask<BearerCaller?> user, IPAddress? source) => Known(await user, source);

    BearerOutcome Known(BearerCaller? user, IPAddress? source)
    {
        if (user is null)
        {
            throttle.RecordFailure(source);
            return new BearerOutcome(null, "Unknown token.");
        }

        return new BearerOutcome(user);
    }

    /// <summary>The answer to a request without a caller: 429 with Retry-After for a throttled source, else 401.</summary>
    public static Task ChallengeAsync(HttpContext http, TimeSpan? throttledFor)
    {
        if (throttledFor is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "too_many_auth_failures",
                $"Too many failed authentications from this address; retry after {seconds} s.", null);
        }

        return ApiErrors.Write(http, StatusCodes.Status401Unauthorized, "unauthorized",
            "Missing or invalid token: send 'Authorization: Bearer <token>'.", null);
    }
}
