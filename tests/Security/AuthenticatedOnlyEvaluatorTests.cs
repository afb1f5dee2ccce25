using System.Security.Claims;
using DeepDeploy.Gateway.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Security;

/// <summary>The gateway's policy evaluator gives ASP.NET Core's answer for every caller and policy: the fast path for
/// "any authenticated caller" changes no outcome, and role policies are still ASP.NET Core's.</summary>
[Trait("Category", "Unit")]
public sealed class AuthenticatedOnlyEvaluatorTests
{
    static readonly AuthorizationPolicy Authenticated = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var caller in new[] { "anonymous", "user", "operator", "second-identity" })
        {
            foreach (var policy in new[] { "authenticated", "operator-role", "user-role" })
            {
                data.Add(caller, policy);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Every_caller_and_policy_gets_ASP_NET_Core_s_answer(string caller, string policyName)
    {
        var services = new ServiceCollection().AddLogging().AddGatewayAuthorization().BuildServiceProvider();
        var policy = policyName switch
        {
            "authenticated" => Authenticated,
            "operator-role" => new AuthorizationPolicyBuilder().RequireRole(Roles.Operator).Build(),
            _ => new AuthorizationPolicyBuilder().RequireRole(Roles.User).Build(),
        };

        var fast = services.GetRequiredService<IPolicyEvaluator>();
        Assert.IsType<AuthenticatedOnlyEvaluator>(fast);
        var expected = await Evaluate(services.GetRequiredService<PolicyEvaluator>(), policy, Context(services, caller));
        var actual = await Evaluate(fast, policy, Context(services, caller));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task An_authenticated_caller_passes_and_an_anonymous_one_is_challenged()
    {
        var services = new ServiceCollection().AddLogging().AddGatewayAuthorization().BuildServiceProvider();
        var evaluator = services.GetRequiredService<IPolicyEvaluator>();
        Assert.Equal((true, true, false, false), await Evaluate(evaluator, Authenticated, Context(services, "user")));
        Assert.Equal((false, false, true, false), await Evaluate(evaluator, Authenticated, Context(services, "anonymous")));
    }

    static async Task<(bool Authenticated, bool Succeeded, bool Challenged, bool Forbidden)> Evaluate(IPolicyEvaluator evaluator, AuthorizationPolicy policy, HttpContext context)
    {
        var authentication = await evaluator.AuthenticateAsync(policy, context);
        var result = await evaluator.AuthorizeAsync(policy, authentication, context, resource: null);
        return (authentication.Succeeded, result.Succeeded, result.Challenged, result.Forbidden);
    }

    /// <summary>What the authentication middleware leaves for each kind of caller: the principal and its result.</summary>
    static DefaultHttpContext Context(IServiceProvider services, string caller)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        var principal = caller switch
        {
            "anonymous" => null,
            "user" => BearerPrincipal.Of("alice", Roles.User),
            "operator" => BearerPrincipal.Of(Roles.OperatorName, Roles.Operator),
            // An unauthenticated first identity with an authenticated second one.
            _ => new ClaimsPrincipal([new ClaimsIdentity(), new ClaimsIdentity([new Claim(ClaimTypes.Name, "bob")], "other")]),
        };
        // No credentials: the user stays anonymous and there is no result.
        if (principal is not null)
        {
            var result = AuthenticateResult.Success(new AuthenticationTicket(principal, BearerTokenHandler.SchemeName));
            context.User = principal;
            context.Features.Set<IAuthenticateResultFeature>(new ResultFeature(result));
        }

        return context;
    }

    sealed class ResultFeature(AuthenticateResult result) : IAuthenticateResultFeature
    {
        public AuthenticateResult? AuthenticateResult { get; set; } = result;
    }
}
