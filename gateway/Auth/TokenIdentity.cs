using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>An API token → who it is (the operator or a user), for the console's sign-in and its cookie's
/// re-check: the same answer the Bearer scheme gives, so a revoked token also ends a console session.</summary>
public sealed class TokenIdentity(IOptions<GatewayOptions> gateway, BearerTokenCache users)
{
    /// <summary>The console cookie carries the token it was made from (encrypted with the key ring), to call the
    /// API as that user.</summary>
    public const string TokenClaim = "deepdeploy:token";

    public async ValueTask<ClaimsPrincipal?> PrincipalAsync(string token, string scheme)
    {
        var adminToken = gateway.Value.AdminToken;
        if (adminToken.Length > 0 && TokenHasher.FixedTimeEquals(token, adminToken))
        {
            return Principal(Roles.OperatorName, Roles.Operator, token, scheme);
        }

        return await users.FindUserAsync(token) is { } user ? Principal(user, Roles.User, token, scheme) : null;
    }

    static ClaimsPrincipal Principal(string name, string role, string token, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role), new Claim(TokenClaim, token)], scheme));
}
