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
    UserTokenCache users) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("Authorization header must be 'Bearer <token>'.");
        }

        var token = header["Bearer ".Length..].Trim();
        var adminToken = gateway.Value.AdminToken;
        if (adminToken.Length > 0 && TokenHasher.FixedTimeEquals(token, adminToken))
        {
            return Success(Roles.OperatorName, Roles.Operator);
        }

        var user = await users.FindUserAsync(TokenHasher.Hash(token));
        return user is null ? AuthenticateResult.Fail("Unknown token.") : Success(user, Roles.User);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ApiErrors.Write(Context, StatusCodes.Status401Unauthorized, "unauthorized",
            "Missing or invalid token: send 'Authorization: Bearer <token>'.", null);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.Write(Context, StatusCodes.Status403Forbidden, "forbidden", "This call needs the operator token.", null);

    AuthenticateResult Success(string name, string role)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
