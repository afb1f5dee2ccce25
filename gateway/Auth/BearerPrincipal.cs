using System.Security.Claims;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Who a bearer token is: its name and role, as the Bearer scheme's principal.</summary>
public static class BearerPrincipal
{
    public static ClaimsPrincipal Of(string name, string role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)], BearerTokenHandler.SchemeName));
}
