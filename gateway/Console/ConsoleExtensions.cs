using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.WebConsole.Components;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>The web console: Blazor static server rendering at /console, signed in with the console cookie.</summary>
public static class ConsoleExtensions
{
    public static IServiceCollection AddDeepDeployConsole(this IServiceCollection services)
    {
        services.AddAuthentication().AddConsoleCookie();
        services.AddSingleton<TokenIdentity>();
        services.AddSingleton<SelfAddress>();
        services.AddHttpContextAccessor();
        services.AddHttpClient<ConsoleApi>(c => c.Timeout = TimeSpan.FromMinutes(10));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "deepdeploy_csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
        services.AddRazorComponents();
        return services;
    }

    /// <summary>After authentication and authorization in the pipeline.</summary>
    public static void MapDeepDeployConsole(this WebApplication app)
    {
        app.Use(RelativeRedirects);
        app.UseAntiforgery();
        app.MapConsoleEndpoints();
        app.MapRazorComponents<App>().ExcludeFromDescription();
    }

    /// <summary>Blazor writes a page's redirect as an absolute URL built from the request's Host header; the console
    /// sends it as a path, so nothing the caller sent comes back in a header.</summary>
    static Task RelativeRedirects(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.StartsWithSegments("/console"))
        {
            context.Response.OnStarting(() =>
            {
                var location = context.Response.Headers.Location.ToString();
                var origin = context.Request.Scheme + "://" + context.Request.Host.Value;
                if (location.StartsWith(origin + "/", StringComparison.Ordinal))
                {
                    context.Response.Headers.Location = location[origin.Length..];
                }

                return Task.CompletedTask;
            });
        }

        return next(context);
    }
}
