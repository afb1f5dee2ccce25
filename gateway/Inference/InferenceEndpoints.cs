using System.Net;
using System.Security.Claims;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace DeepDeploy.Gateway.Inference;

/// <summary>The OpenAI-compatible API under /v1/openai: resolve "user/model", pick the least-loaded running
/// instance, forward with YARP (streaming passes through unbuffered).</summary>
public static class InferenceEndpoints
{
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    static readonly EnginePathTransformer Chat = new("/v1/chat/completions");
    static readonly EnginePathTransformer Completions = new("/v1/completions");

    static readonly HttpMessageInvoker Engines = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    public static void MapInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/openai").RequireAuthorization().WithTags("Inference (OpenAI-compatible)");
        group.MapPost("/chat/completions", (HttpContext http, IHttpForwarder forwarder, RouteTable routes, InstanceLoad load) =>
            Forward(http, forwarder, routes, load, Chat));
        group.MapPost("/completions", (HttpContext http, IHttpForwarder forwarder, RouteTable routes, InstanceLoad load) =>
            Forward(http, forwarder, routes, load, Completions));
        group.MapGet("/models", Models);
    }

    static async Task Forward(HttpContext http, IHttpForwarder forwarder, RouteTable routes, InstanceLoad load, HttpTransformer transformer)
    {
        http.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: MaxBodyBytes);
        var body = await JsonBody.ReadObjectAsync(http.Request, http.RequestAborted, MaxBodyBytes);
        http.Request.Body.Position = 0;

        var model = JsonBody.String(body, "model") ?? throw new BadRequestException("model", "'model' is required: \"<user>/<model_name>\".", "missing_field");
        var slash = model.IndexOf('/');
        var (owner, name) = slash > 0 ? (model[..slash], model[(slash + 1)..]) : ("", model);
        var route = CanUse(http.User, owner) ? await routes.ResolveAsync(owner, name) : null;
        if (route is null || route.Status == DeploymentStatus.Deleted)
        {
            await ApiErrors.Write(http, StatusCodes.Status404NotFound, "model_not_found",
                $"No deployment named '{model}'. Use the full name '<user>/<model_name>'.", "model");
            return;
        }

        if (route.Endpoints.Count == 0)
        {
            http.Response.Headers.RetryAfter = "5";
            await ApiErrors.Write(http, StatusCodes.Status503ServiceUnavailable, "no_instance",
                $"Deployment '{model}' has no running instance (status: {route.Status.ToString().ToLowerInvariant()}).", "model");
            return;
        }

        var endpoint = load.Pick(route.Endpoints);
        load.Enter(endpoint);
        ForwarderError error;
        try
        {
            error = await forwarder.SendAsync(http, endpoint, Engines, ForwarderRequestConfig.Empty, transformer);
        }
        finally
        {
            load.Exit(endpoint);
        }

        if (error != ForwarderError.None)
        {
            routes.Invalidate(owner, name);
            if (!http.Response.HasStarted)
            {
                await ApiErrors.Write(http, StatusCodes.Status502BadGateway, "engine_unreachable",
                    $"The instance of '{model}' did not answer ({error}). Retry the request.", null);
            }
        }
    }

    static async Task<IResult> Models(HttpContext http, IGrainFactory grains)
    {
        var user = http.User.Identity!.Name!;
        var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
        var views = account is null ? [] : await Task.WhenAll(account.Deployments.Select(id => grains.GetGrain<IDeploymentGrain>(id).Get()));
        var data = views.OfType<DeploymentView>()
            .Where(v => v.Status != DeploymentStatus.Deleted)
            .Select(v => new { id = $"{v.Owner}/{v.ModelName}", @object = "model", created = v.CreatedAt.ToUnixTimeSeconds(), owned_by = v.Owner });
        return Results.Ok(new { @object = "list", data });
    }

    static bool CanUse(ClaimsPrincipal caller, string owner) =>
        caller.IsInRole(Roles.Operator) || caller.Identity?.Name == owner;
}
