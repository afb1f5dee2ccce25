using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Auth;

public static class AuthorizationSetup
{
    /// <summary>ASP.NET Core's authorization with <see cref="AuthenticatedOnlyEvaluator"/> in front of its policy evaluator.</summary>
    public static IServiceCollection AddGatewayAuthorization(this IServiceCollection services)
    {
        services.AddAuthorization();
        services.AddTransient<PolicyEvaluator>();
        services.AddSingleton<IPolicyEvaluator, AuthenticatedOnlyEvaluator>();
        return services;
    }
}
