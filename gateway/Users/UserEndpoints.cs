using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Users;

/// <summary>POST /admin/users (operator) and GET /v1/me.</summary>
public static class UserEndpoints
{
    public static void MapUserEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Operator").RequireAuthorization(p => p.RequireRole(Roles.Operator));
        admin.MapPost("/users", CreateUser).WithSummary("Create a user; the answer holds its API token, shown once")
            .Accepts<CreateUserBody>("application/json")
            .Produces<ApiErrorBody>(StatusCodes.Status409Conflict);
        admin.MapGet("/users", ListUsers).WithSummary("List users with their GPU limits");
        admin.MapPut("/users/{name}/quota", SetQuota).WithSummary("Set a user's limits: GPUs, live deployments, concurrent inference requests, request bytes, cold-start holds").Accepts<QuotaBody>("application/json");
        app.MapGet("/v1/me", Me).WithTags("Users").WithSummary("The caller's account").RequireAuthorization(p => p.RequireRole(Roles.User));
    }

    static async Task<IResult> CreateUser(HttpContext http, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var name = (await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.CreateUserBody, http.RequestAborted)).Validate();
        var token = TokenHasher.NewToken("dd-");
        if (!await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).Add(name, TokenHasher.Hash(token)))
        {
            return ApiErrors.Result(StatusCodes.Status409Conflict, "user_exists", $"User '{name}' already exists.", "name");
        }

        await grains.GetGrain<IUserQuotaGrain>(name).Create(options.Value.DefaultGpuLimit);
        return Results.Created($"/admin/users/{name}", new { name, token });
    }

    static async Task<IResult> ListUsers(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).List();
        var users = await Task.WhenAll(names.Select(n => grains.GetGrain<IUserQuotaGrain>(n).Get()));
        return Results.Ok(users.OfType<UserView>().Select(Describe));
    }

    static async Task<IResult> SetQuota(HttpContext http, IGrainFactory grains, string name)
    {
        var limits = (await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.QuotaBody, http.RequestAborted)).Validate();
        var user = await grains.GetGrain<IUserQuotaGrain>(name).SetLimits(limits);
        return user is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", $"No user '{name}'.", "name")
            : Results.Ok(Describe(user));
    }

    static object Describe(UserView user) =>
        new
        {
            name = user.Name,
            gpu_limit = user.GpuLimit,
            gpus_reserved = user.GpusReserved,
            created_at = user.CreatedAt,
            max_deployments = user.MaxDeployments,
            live_deployments = user.LiveDeployments,
            max_concurrent_requests = user.MaxConcurrentRequests,
            max_request_bytes = user.MaxRequestBytes,
            max_cold_start_requests = user.MaxColdStartRequests,
        };

    static async Task<IResult> Me(HttpContext http, IGrainFactory grains)
    {
        var user = await grains.GetGrain<IUserQuotaGrain>(http.User.Identity!.Name!).Get();
        return user is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", "No account.")
            : Results.Ok(Describe(user));
    }
}
