using System.Text.Json;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Billing;
using DeepDeploy.Gateway.WebConsole;
using DeepDeploy.Gateway.Deployments;
using DeepDeploy.Gateway.Events;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using DeepDeploy.Gateway.Nodes;
using DeepDeploy.Gateway.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Polly;

namespace DeepDeploy.Gateway;

/// <summary>Wires the gateway into any ASP.NET Core host that has an Orleans client (or is a silo).</summary>
public static class GatewayExtensions
{
    public static IServiceCollection AddDeepDeployGateway(this IServiceCollection services, Action<GatewayOptions> configure)
    {
        services.Configure(configure);
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        services.AddOptions<EventStreamOptions>().BindConfiguration(EventStreamOptions.Section)
            .Validate(o => o.KeepAliveInterval > TimeSpan.Zero, "DeepDeploy:Events:KeepAliveInterval must be positive.").ValidateOnStart();
        services.AddSingleton<ITokenLookup, UserDirectoryTokenLookup>();
        services.AddSingleton<BearerTokenCache>();
        services.AddSingleton<AuthFailureThrottle>();
        services.AddSingleton<BearerAuthenticator>();
        services.AddOptions<InferenceOptions>().BindConfiguration(InferenceOptions.Section)
            .Validate(o => o.RoutingIsValid(), $"DeepDeploy:Inference:Routing and RoutingByModel name policies among: {RoutingPolicies.Names}.").ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<GatewayIdentity>();
        services.AddSingleton<RouteTable>();
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<InferenceForwarder>();
        services.AddSingleton<UserRequestLimiter>();
        services.AddSingleton<RouteSubscriber>();
        services.AddHostedService(sp => sp.GetRequiredService<RouteSubscriber>());
        services.AddSingleton<LoadReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<LoadReporter>());
        services.AddHttpForwarder();
        services.AddGatewayTransport();
        services.AddResiliencePipeline(RouteSubscriber.PipelineName, RouteSubscriber.ConfigurePipeline);
        services.AddApiErrorHandling();

        // YARP logs every forwarded request at Information: too costly on the inference hot path.
        services.AddLogging(logging => logging.AddFilter("Yarp", LogLevel.Warning));
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        services.AddGatewayAuthorization();
        services.AddDeepDeployConsole();
        services.AddOpenApi(ApiDocs.Configure);
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        return services;
    }

    public static void UseDeepDeployGateway(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseRequestTimeline();
        // Here rather than first (WebApplication's default), so that the inference endpoints, which authenticate
        // themselves and are short-circuited (InferenceEndpoints), still pass the exception handler and the timeline.
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        // Only under /docs: otherwise every inference request passes through it (seen in the profile, docs/gateway.md).
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/docs"), docs => docs.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "DeepDeploy API");
            o.RoutePrefix = "docs";
            o.DocumentTitle = "DeepDeploy API";
        }));
        app.MapUserEndpoints();
        app.MapTokenEndpoints();
        app.MapDeployEndpoints();
        app.MapEventEndpoints();
        app.MapInferenceEndpoints();
        app.MapBillingEndpoints();
        app.MapNodeEndpoints();
        app.MapDeepDeployConsole();
    }
}
