using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Auth;

/// <summary>The web console's session: an HttpOnly, SameSite=Strict cookie made at sign-in from an API token. It
/// authenticates only the console and the browser pages (<c>/dashboard</c>); the API accepts Bearer only, so a
/// cross-site request cannot reach the API through it.</summary>
public static class ConsoleCookie
{
    public const string SchemeName = "Console";

    /// <summary>Bearer when the request has an Authorization header, else the console cookie: for browser pages
    /// that API clients also open (<c>/dashboard</c>).</summary>
    public const string BrowserOrBearer = "BrowserOrBearer";

    public const string SignInPath = "/console/signin";

    public static AuthenticationBuilder AddConsoleCookie(this AuthenticationBuilder auth) => auth
        .AddCookie(SchemeName, o =>
        {
            o.Cookie.Name = "deepdeploy_console";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = "/";
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.LoginPath = SignInPath;
            o.AccessDeniedPath = "/console/denied";
            o.Events.OnValidatePrincipal = Revalidate;
            o.Events.OnRedirectToLogin = c => OutsideConsole(c.Request)
                ? ApiErrors.Write(c.HttpContext, StatusCodes.Status401Unauthorized, "unauthorized",
                    "Sign in to the console as the operator, or send 'Authorization: Bearer <token>'.", null)
                : Redirect(c, SignInPath);
            o.Events.OnRedirectToAccessDenied = c => OutsideConsole(c.Request)
                ? ApiErrors.Write(c.HttpContext, StatusCodes.Status403Forbidden, "forbidden", "This page needs the operator token.", null)
                : Redirect(c, "/console/denied");
        })
        .AddPolicyScheme(BrowserOrBearer, null, o => o.ForwardDefaultSelector = c =>
            c.Request.Headers.Authorization.Count > 0 ? BearerTokenHandler.SchemeName : SchemeName);

    /// <summary>Each request re-checks the token (cached like the Bearer scheme's), so a revoked token ends the session.</summary>
    static async Task Revalidate(CookieValidatePrincipalContext context)
    {
        var token = context.Principal?.FindFirst(TokenIdentity.TokenClaim)?.Value;
        var current = token is null
            ? null
            : await context.HttpContext.RequestServices.GetRequiredService<TokenIdentity>().PrincipalAsync(token, SchemeName);
        if (current is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(SchemeName);
        }
    }

    static bool OutsideConsole(HttpRequest request) => !request.Path.StartsWithSegments("/console");

    /// <summary>A fixed, relative location: the handler's default would build it from the request's Host header.</summary>
    static Task Redirect(RedirectContext<CookieAuthenticationOptions> context, string path)
    {
        context.Response.Redirect(path);
        return Task.CompletedTask;
    }
}
