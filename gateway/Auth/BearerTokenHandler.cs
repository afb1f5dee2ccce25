using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Authorization: Bearer &lt;token&gt;, for the operator's token or a user's.</summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<GatewayOptions> gateway,
    BearerTokenCache users,
    AuthFailureThrottle throttle) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>HttpContext.Items key: the source is throttled for this long, so the challenge is a 429.</summary>
    const string ThrottledFor = "DeepDeploy.Auth.ThrottledFor";

    /// <summary>Shared by every operator request, as a user's is by its token's (<see cref="BearerTokenCache"/>).</summary>
    static readonly ClaimsPrincipal Operator = BearerPrincipal.Of(Roles.OperatorName, Roles.Operator);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        var source = Context.Connection.RemoteIpAddress;
        if (throttle.RetryAfter(source) is { } wait)
        {
            Context.Items[ThrottledFor] = wait;
            return AuthenticateResult.Fail("Too many failed authentications from this address.");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throttle.RecordFailure(source);
            return AuthenticateResult.Fail("Authorization header must be 'Bearer <token>'.");
        }

        var token = header.AsMemory("Bearer ".Length).Trim();
        var adminToken = gateway.Value.AdminToken;
        if (adminToken.Length > 0 && TokenHasher.FixedTimeEquals(token.Span, adminToken))
        {
            return Success(Operator);
        }

        var user = await users.FindPrincipalAsync(token.Span);
        if (user is null)
        {
            throttle.RecordFailure(source);
            return AuthenticateResult.Fail("Unknown token.");
        }

        return Success(user);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[ThrottledFor] is TimeSpan wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiErrors.Write(Context, StatusCodes.Status429TooManyRequests, "too_many_auth_failures",
                $"Too many failed authentications from this address; retry after {seconds} s.", null);
        }

        return ApiErrors.Write(Context, StatusCodes.Status401Unauthorized, "unauthorized",
            "Missing or invalid token: send 'Authorization: Bearer <token>'.", null);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.Write(Context, StatusCodes.Status403Forbidden, "forbidden", "This call needs the operator token.", null);

    static AuthenticateResult Success(ClaimsPrincipal principal) => AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
}
