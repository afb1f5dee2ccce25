using System.Text.Encodings.Web;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Authorization: Bearer &lt;token&gt;, for the operator's token or a user's, as ASP.NET Core's scheme (the
/// rules are <see cref="BearerAuthenticator"/>'s).</summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    BearerAuthenticator authenticator) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>HttpContext.Items key: the source is throttled for this long, so the challenge is a 429.</summary>
    const string ThrottledFor = "DeepDeploy.Auth.ThrottledFor";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var outcome = await authenticator.AuthenticateAsync(Context);
        if (outcome.Caller is { } caller)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(caller.Principal, SchemeName));
        }

        if (outcome.Failure is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (outcome.ThrottledFor is { } wait)
        {
            Context.Items[ThrottledFor] = wait;
        }

        return AuthenticateResult.Fail(outcome.Failure);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        BearerAuthenticator.ChallengeAsync(Context, Context.Items[ThrottledFor] as TimeSpan?);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.Write(Context, StatusCodes.Status403Forbidden, "forbidden", "This call needs the operator token.", null);
}
