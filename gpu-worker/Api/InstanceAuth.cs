using System.Security.Cryptography;
using System.Text;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>
/// Refuses every request without the instance's secret (<c>--api-key</c>) before any work: anyone who can reach
/// the worker's port is otherwise a client, bypassing the gateway's authentication, billing and limits. Only the
/// probes stay open: /health (the node and load balancers) and /metrics (the node's scrape; it carries no
/// request content).
/// </summary>
public static class InstanceAuth
{
    const string Scheme = "Bearer ";

    public static void UseInstanceAuth(this WebApplication app, string? apiKey)
    {
        if (apiKey is null)
        {
            return;
        }

        var expected = Encoding.UTF8.GetBytes(apiKey);
        app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path;
            if (path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics") || Presents(ctx.Request, expected))
            {
                await next(ctx);
                return;
            }

            ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
            ctx.Response.Headers.WWWAuthenticate = "Bearer";
            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(OpenAiJson.Error(new ApiError(401,
                "This instance accepts requests only from its gateway (Authorization: Bearer <instance secret>).",
                Type: "authentication_error", Code: "invalid_instance_secret")));
        });
    }

    static bool Presents(HttpRequest request, byte[] expected)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        // Constant time: the comparison must not tell a prober how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Scheme.Length..]), expected);
    }
}
