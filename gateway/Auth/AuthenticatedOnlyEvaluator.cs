using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Auth;

/// <summary>
/// The authorization middleware's policy evaluation, with a fast path for the one policy every inference request
/// meets: <c>RequireAuthorization()</c> with no role or scheme (only <see cref="DenyAnonymousAuthorizationRequirement"/>).
/// For it the answer is the requirement's own rule (some identity of the caller is authenticated), read from what the
/// authentication middleware already set, without re-wrapping the principal in a ticket or running the authorization
/// handlers on each request. Every other policy (roles, schemes) goes to ASP.NET Core's <see cref="PolicyEvaluator"/>,
/// resolved per request as before. One instance for the host: it holds no state.
/// </summary>
public sealed class AuthenticatedOnlyEvaluator : IPolicyEvaluator
{
    static readonly Task<PolicyAuthorizationResult> Allowed = Task.FromResult(PolicyAuthorizationResult.Success());

    public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) =>
        AuthenticatedOnly(policy) && context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { Succeeded: true } result
            && ReferenceEquals(result.Principal, context.User) && context.User.Identity?.IsAuthenticated == true
            ? Task.FromResult(result)
            : Inner(context).AuthenticateAsync(policy, context);

    public Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource) =>
        AuthenticatedOnly(policy) && IsAuthenticated(context.User)
            ? Allowed
            : Inner(context).AuthorizeAsync(policy, authenticationResult, context, resource);

    static PolicyEvaluator Inner(HttpContext context) => context.RequestServices.GetRequiredService<PolicyEvaluator>();

    static bool AuthenticatedOnly(AuthorizationPolicy policy) =>
        policy.AuthenticationSchemes.Count == 0 && policy.Requirements is [DenyAnonymousAuthorizationRequirement];

    /// <summary><see cref="DenyAnonymousAuthorizationRequirement"/>'s rule.</summary>
    static bool IsAuthenticated(ClaimsPrincipal? user)
    {
        if (user?.Identity is null)
        {
            return false;
        }

        foreach (var identity in user.Identities)
        {
            if (identity.IsAuthenticated)
            {
                return true;
            }
        }

        return false;
    }
}
