using System.Security.Claims;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// The inference API: OpenAI-compatible under /v1/openai (chat/completions, completions, models) and DeepInfra's
/// native <c>POST /v1/inference/{user}/{model}</c>. A request resolves its model in the in-memory
/// <see cref="RouteTable"/> (no grain call) and is forwarded by <see cref="InferenceForwarder"/>.
/// </summary>
public static class InferenceEndpoints
{
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>How long a request that arrives before the gateway's first routing snapshot waits for it.</summary>
    static readonly TimeSpan FirstSnapshotWait = TimeSpan.FromSeconds(10);

    public static void MapInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/openai").RequireAuthorization().WithTags("Inference (OpenAI-compatible)");
        group.MapPost("/chat/completions", (HttpContext http, RouteTable routes, InferenceForwarder forwarder, UserRequestLimiter limiter) =>
            LimitedAsync(http, limiter, hold => OpenAiAsync(http, routes, forwarder, hold, EngineTransformer.Chat)));
        group.MapPost("/completions", (HttpContext http, RouteTable routes, InferenceForwarder forwarder, UserRequestLimiter limiter) =>
            LimitedAsync(http, limiter, hold => OpenAiAsync(http, routes, forwarder, hold, EngineTransformer.Completions)));
        group.MapGet("/models", Models);
        app.MapPost("/v1/inference/{user}/{model}", (HttpContext http, string user, string model, RouteTable routes, InferenceForwarder forwarder, UserRequestLimiter limiter) =>
                LimitedAsync(http, limiter, hold => NativeAsync(http, user, model, routes, forwarder, hold)))
            .RequireAuthorization().WithTags("Inference (DeepInfra native)").Accepts<NativeBody>("application/json");
    }

    /// <summary>Runs <paramref name="handle"/> within the caller's limits at this gateway (the operator has none), given back
    /// when the request ends: concurrent requests, then bytes of request bodies, both before the body is read (a body
    /// counts by its Content-Length; one sent without is counted once read). Beyond a limit a 429 naming it.</summary>
    static async Task LimitedAsync(HttpContext http, UserRequestLimiter limiter, Func<UserHold?, Task> handle)
    {
        http.Timeline()?.End(GatewayStage.Authentication);
        var user = http.User.Identity?.Name;
        if (user is null || http.User.IsInRole(Roles.Operator))
        {
            await handle(null);
            return;
        }

        using var hold = await limiter.TryEnterAsync(user);
        if (hold is null)
        {
            http.Response.Headers.RetryAfter = "1";
            await ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "concurrency_limit_reached",
                $"You already have {limiter.ConcurrencyLimit(user)} inference requests in flight at this gateway, your limit (max_concurrent_requests). Retry when one ends.", null);
            return;
        }

        if (!await HoldBytesAsync(http, hold, Math.Min(http.Request.ContentLength ?? 0, MaxBodyBytes)))
        {
            return;
        }

        await handle(hold);
    }

    /// <summary>False after answering when the body's <paramref name="bytes"/> pass the caller's max_request_bytes: 413 for a
    /// body larger than the whole limit (it can never pass), else 429 (the caller's other requests hold the bytes).</summary>
    static async Task<bool> HoldBytesAsync(HttpContext http, UserHold? hold, long bytes)
    {
        if (hold?.TryHoldBytes(bytes) is not { } limit)
        {
            return true;
        }

        if (bytes > limit)
        {
            await ApiErrors.Write(http, StatusCodes.Status413PayloadTooLarge, "request_bytes_limit_reached",
                $"This request's body ({bytes} bytes) is larger than your limit of {limit} bytes of request bodies at a gateway (max_request_bytes).", "body");
            return false;
        }

        http.Response.Headers.RetryAfter = "1";
        await ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "request_bytes_limit_reached",
            $"Your requests at this gateway already hold close to your limit of {limit} bytes of request bodies (max_request_bytes); this one has {bytes}. Retry when one ends.", null);
        return false;
    }

    /// <summary>Forwards to <paramref name="lane"/>. While it has no serving instance (a cold start can take minutes) the
    /// request counts against the caller's max_cold_start_requests until it ends; beyond it a 429 naming the limit. A
    /// finished deployment's requests are not held: the lane answers 503 at once.</summary>
    static async Task ForwardLimitedAsync(HttpContext http, DeploymentLane lane, UserHold? hold, Func<Task> forward)
    {
        var route = lane.Route;
        var cold = route.Instances.Count == 0 && route.Status is not (DeploymentStatus.Failed or DeploymentStatus.Stopped or DeploymentStatus.Deleted);
        if (cold && hold?.TryHoldColdStart() is { } limit)
        {
            http.Response.Headers.RetryAfter = "5";
            await ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "cold_start_queue_full",
                $"You already have {limit} requests waiting for instances to start at this gateway, your limit (max_cold_start_requests). Retry once the deployment runs.", null);
            return;
        }

        await forward();
    }

    static async Task OpenAiAsync(HttpContext http, RouteTable routes, InferenceForwarder forwarder, UserHold? hold, EngineTransformer transformer)
    {
        var policy = RequestedPolicy(http);
        // The raw body, forwarded as it is (the engine validates it).
        var body = await JsonBody.ReadBytesAsync(http.Request, MaxBodyBytes, http.RequestAborted);
        if (!await HoldBytesAsync(http, hold, body.Length))
        {
            return;
        }

        var (model, maxTokens) = RequestHead.Read(body);
        model = model ?? throw new BadRequestException("model", "'model' is required: \"<user>/<model_name>\".", "missing_field");
        var lane = await ResolveAsync(http, routes, model);
        http.Timeline()?.End(GatewayStage.BodyRead);
        if (lane is not null)
        {
            await ForwardLimitedAsync(http, lane, hold, () => forwarder.ForwardAsync(http, lane, body, transformer, native: false, policy, maxTokens));
        }
    }

    static async Task NativeAsync(HttpContext http, string user, string model, RouteTable routes, InferenceForwarder forwarder, UserHold? hold)
    {
        var policy = RequestedPolicy(http);
        var native = await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.NativeBody, http.RequestAborted, MaxBodyBytes);
        var fullName = user + "/" + model;
        var (body, _) = NativeRequest.ToCompletions(native, fullName);
        if (!await HoldBytesAsync(http, hold, body.Length))
        {
            return;
        }

        var lane = await ResolveAsync(http, routes, fullName);
        http.Timeline()?.End(GatewayStage.BodyRead);
        if (lane is not null)
        {
            await ForwardLimitedAsync(http, lane, hold, () => forwarder.ForwardAsync(http, lane, body, EngineTransformer.Completions, native: true, policy, native.MaxNewTokens ?? NativeBody.DefaultMaxNewTokens));
        }
    }

    /// <summary>The routing policy the request asks for (<see cref="RoutingPolicies.Header"/>), or null for the
    /// deployment's; a 400 naming the allowed values (never echoing the sent one) for anything else.</summary>
    static RoutingPolicy? RequestedPolicy(HttpContext http)
    {
        var values = http.Request.Headers[RoutingPolicies.Header];
        if (values.Count == 0)
        {
            return null;
        }

        return values.Count == 1 && RoutingPolicies.Find(values[0]) is { } policy
            ? policy
            : throw new BadRequestException(RoutingPolicies.Header,
                $"The {RoutingPolicies.Header} header must be one of: {RoutingPolicies.Names} (once).", "invalid_routing_policy");
    }

    /// <summary>The caller's deployment of that name, or null after writing a 404.</summary>
    static async Task<DeploymentLane?> ResolveAsync(HttpContext http, RouteTable routes, string model)
    {
        if (!routes.Ready.IsCompleted)
        {
            try
            {
                await routes.Ready.WaitAsync(FirstSnapshotWait, http.RequestAborted);
            }
            catch (TimeoutException)
            {
                http.Response.Headers.RetryAfter = "5";
                await ApiErrors.Write(http, StatusCodes.Status503ServiceUnavailable, "routes_unavailable",
                    "The gateway has not received its routing table from the cluster yet. Retry shortly.", null);
                return null;
            }
        }

        var slash = model.IndexOf('/');
        var owner = slash > 0 ? model[..slash] : "";
        var lane = CanUse(http.User, owner) ? routes.Find(model) : null;
        if (lane is null)
        {
            await ApiErrors.Write(http, StatusCodes.Status404NotFound, "model_not_found",
                $"No deployment named '{model}'. Use the full name '<user>/<model_name>'.", "model");
        }

        return lane;
    }

    static async Task<IResult> Models(HttpContext http, IGrainFactory grains)
    {
        var user = http.User.Identity!.Name!;
        var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
        var views = account is null ? [] : await Task.WhenAll(account.Deployments.Select(id => grains.GetGrain<IDeploymentGrain>(id).Get()));
        var data = views.OfType<DeploymentView>()
            .Where(v => v.Status != DeploymentStatus.Deleted)
            .Select(v => new { id = v.FullModelName, @object = "model", created = v.CreatedAt.ToUnixTimeSeconds(), owned_by = v.Owner });
        return Results.Ok(new { @object = "list", data });
    }

    static bool CanUse(ClaimsPrincipal caller, string owner) =>
        caller.IsInRole(Roles.Operator) || caller.Identity?.Name == owner;
}
