using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using DeepDeploy.Gateway.Inference.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

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

    /// <remarks>Every endpoint here authenticates itself with <see cref="BearerAuthenticator"/> (the Bearer scheme's
    /// rules and answers, as for the rest of the API) and is short-circuited: routing runs it directly, past the
    /// authentication, authorization and antiforgery middleware, so that a request builds none of their per-request
    /// objects; and the handlers take their services from here, not from a request scope (docs/gateway.md "Where the
    /// time goes").</remarks>
    public static void MapInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var authenticator = services.GetRequiredService<BearerAuthenticator>();
        var routes = services.GetRequiredService<RouteTable>();
        var forwarder = services.GetRequiredService<InferenceForwarder>();
        var limiter = services.GetRequiredService<UserRequestLimiter>();
        var grains = services.GetRequiredService<IGrainFactory>();
        var group = app.MapGroup("/v1/openai").WithTags("Inference (OpenAI-compatible)");
        group.ShortCircuit();
        // Made once here: a lambda that captured the request would be a new delegate per request.
        Func<HttpContext, BearerCaller, UserHold?, Task> chat = (http, caller, hold) => OpenAiAsync(http, caller, routes, forwarder, hold, EngineTransformer.Chat);
        Func<HttpContext, BearerCaller, UserHold?, Task> completions = (http, caller, hold) => OpenAiAsync(http, caller, routes, forwarder, hold, EngineTransformer.Completions);
        group.MapPost("/chat/completions", Handler(http => LimitedAsync(http, authenticator, limiter, chat)));
        group.MapPost("/completions", Handler(http => LimitedAsync(http, authenticator, limiter, completions)));
        group.MapGet("/models", Handler(async http =>
        {
            if (await AuthenticateAsync(http, authenticator) is { } caller)
            {
                await (await Models(caller, grains)).ExecuteAsync(http);
            }
        }));
        app.MapPost("/v1/inference/{user}/{model}", (HttpContext http, string user, string model) =>
                LimitedAsync(http, authenticator, limiter, (_, caller, hold) => NativeAsync(http, caller, user, model, routes, forwarder, hold)))
            .WithTags("Inference (DeepInfra native)").Accepts<NativeBody>("application/json").ShortCircuit();
    }

    /// <summary>As a <see cref="Delegate"/>, not a <see cref="RequestDelegate"/>: so that the API description (OpenAPI)
    /// lists the endpoint.</summary>
    static Delegate Handler(Func<HttpContext, Task> handle) => handle;

    /// <summary>The request's caller, or null after answering 401 (or 429 for a throttled source) as every API
    /// endpoint does. The caller is also set as <see cref="HttpContext.User"/>, as the authentication middleware would.</summary>
    static async ValueTask<BearerCaller?> AuthenticateAsync(HttpContext http, BearerAuthenticator authenticator)
    {
        var outcome = await authenticator.AuthenticateAsync(http);
        if (outcome.Caller is not { } caller)
        {
            await BearerAuthenticator.ChallengeAsync(http, outcome.ThrottledFor);
            return null;
        }

        http.User = caller.Principal;
        return caller;
    }

    /// <summary>Authenticates, then runs <paramref name="handle"/> within the caller's limits at this gateway (the
    /// operator has none), given back when the request ends: concurrent requests, then bytes of request bodies, both
    /// before the body is read (a body counts by its Content-Length; one sent without is counted once read). Beyond a
    /// limit a 429 naming it.</summary>
    static async Task LimitedAsync(HttpContext http, BearerAuthenticator authenticator, UserRequestLimiter limiter,
        Func<HttpContext, BearerCaller, UserHold?, Task> handle)
    {
        if (await AuthenticateAsync(http, authenticator) is not { } caller)
        {
            return;
        }

        http.Timeline()?.End(GatewayStage.Authentication);
        if (caller.IsOperator)
        {
            await handle(http, caller, null);
            return;
        }

        using var hold = await limiter.TryEnterAsync(caller.Name);
        if (hold is null)
        {
            http.Response.Headers.RetryAfter = "1";
            await ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "concurrency_limit_reached",
                $"You already have {limiter.ConcurrencyLimit(caller.Name)} inference requests in flight at this gateway, your limit (max_concurrent_requests). Retry when one ends.", null);
            return;
        }

        if (!await HoldBytesAsync(http, hold, Math.Min(http.Request.ContentLength ?? 0, MaxBodyBytes)))
        {
            return;
        }

        await handle(http, caller, hold);
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

    /// <summary>Null when the request may be forwarded to <paramref name="lane"/>, else the answer refusing it. While the
    /// lane has no serving instance (a cold start can take minutes) the request counts against the caller's
    /// max_cold_start_requests until it ends; beyond it a 429 naming the limit. A finished deployment's requests are not
    /// held: the lane answers 503 at once. (No callback to forward: that was a closure and a state machine per request.)</summary>
    static Task? ColdStartRefusal(HttpContext http, DeploymentLane lane, UserHold? hold)
    {
        var route = lane.Route;
        var cold = route.Instances.Count == 0 && route.Status is not (DeploymentStatus.Failed or DeploymentStatus.Stopped or DeploymentStatus.Deleted);
        if (cold && hold?.TryHoldColdStart() is { } limit)
        {
            http.Response.Headers.RetryAfter = "5";
            return ApiErrors.Write(http, StatusCodes.Status429TooManyRequests, "cold_start_queue_full",
                $"You already have {limit} requests waiting for instances to start at this gateway, your limit (max_cold_start_requests). Retry once the deployment runs.", null);
        }

        return null;
    }

    static async Task OpenAiAsync(HttpContext http, BearerCaller caller, RouteTable routes, InferenceForwarder forwarder, UserHold? hold, EngineTransformer transformer)
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
        var lane = await ResolveAsync(http, caller, routes, model);
        http.Timeline()?.End(GatewayStage.BodyRead);
        if (lane is not null)
        {
            await (ColdStartRefusal(http, lane, hold) ?? forwarder.ForwardAsync(http, lane, body, transformer, native: false, policy, maxTokens));
        }
    }

    static async Task NativeAsync(HttpContext http, BearerCaller caller, string user, string model, RouteTable routes, InferenceForwarder forwarder, UserHold? hold)
    {
        var policy = RequestedPolicy(http);
        var native = await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.NativeBody, http.RequestAborted, MaxBodyBytes);
        var fullName = user + "/" + model;
        var (body, _) = NativeRequest.ToCompletions(native, fullName);
        if (!await HoldBytesAsync(http, hold, body.Length))
        {
            return;
        }

        var lane = await ResolveAsync(http, caller, routes, fullName);
        http.Timeline()?.End(GatewayStage.BodyRead);
        if (lane is not null)
        {
            await (ColdStartRefusal(http, lane, hold)
                ?? forwarder.ForwardAsync(http, lane, body, EngineTransformer.Completions, native: true, policy, native.MaxNewTokens ?? NativeBody.DefaultMaxNewTokens));
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
    /// <remarks>A ValueTask: it completes at once but for the first snapshot's wait, and a Task would be allocated per request.</remarks>
    static async ValueTask<DeploymentLane?> ResolveAsync(HttpContext http, BearerCaller caller, RouteTable routes, string model)
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
        var lane = caller.CanUse(owner) ? routes.Find(model) : null;
        if (lane is null)
        {
            await ApiErrors.Write(http, StatusCodes.Status404NotFound, "model_not_found",
                $"No deployment named '{model}'. Use the full name '<user>/<model_name>'.", "model");
        }

        return lane;
    }

    static async Task<IResult> Models(BearerCaller caller, IGrainFactory grains)
    {
        var account = await grains.GetGrain<IUserQuotaGrain>(caller.Name).Get();
        var views = account is null ? [] : await Task.WhenAll(account.Deployments.Select(id => grains.GetGrain<IDeploymentGrain>(id).Get()));
        var data = views.OfType<DeploymentView>()
            .Where(v => v.Status != DeploymentStatus.Deleted)
            .Select(v => new { id = v.FullModelName, @object = "model", created = v.CreatedAt.ToUnixTimeSeconds(), owned_by = v.Owner });
        return Results.Ok(new { @object = "list", data });
    }
}
