using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Users;

/// <summary>POST /admin/users (operator) and GET /v1/me.</summary>
public static partial class UserEndpoints
{
    public static void MapUserEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Operator").RequireAuthorization(p => p.RequireRole(Roles.Operator));
        admin.MapPost("/users", CreateUser).WithSummary("Create a user; the answer holds its API token, shown once")
            .Accepts<CreateUserBody>("application/json")
            .Produces<ApiErrors.ApiErrorBody>(StatusCodes.Status409Conflict);
        admin.MapGet("/users", ListUsers).WithSummary("List users with their GPU limits");
        admin.MapPut("/users/{name}/quota", SetQuota).WithSummary("Set a user's GPU limit").Accepts<QuotaBody>("application/json");
        app.MapGet("/v1/me", Me).WithTags("Users").WithSummary("The caller's account").RequireAuthorization(p => p.RequireRole(Roles.User));
    }

    public sealed record CreateUserBody(string Name);

    public sealed record QuotaBody(int GpuLimit);

    static async Task<IResult> CreateUser(HttpContext http, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await JsonBody.ReadObjectAsync(http.Request, http.RequestAborted);
        JsonBody.RejectUnknown(body, "", "name");
        var name = JsonBody.String(body, "name") ?? throw new BadRequestException("name", "'name' is required.", "missing_field");
        if (!NamePattern().IsMatch(name) || name == Roles.OperatorName)
        {
            throw new BadRequestException("name",
                $"'name' must be 1-39 letters, digits or '-', starting with a letter or digit, and not '{Roles.OperatorName}'.");
        }

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
        var body = await JsonBody.ReadObjectAsync(http.Request, http.RequestAborted);
        JsonBody.RejectUnknown(body, "", "gpu_limit");
        var limit = JsonBody.Int(body, "gpu_limit") ?? throw new BadRequestException("gpu_limit", "'gpu_limit' is required.", "missing_field");
        if (limit is < 0 or > MaxGpuLimit)
        {
            throw new BadRequestException("gpu_limit", $"'gpu_limit' must be between 0 and {MaxGpuLimit}.");
        }

        var user = await grains.GetGrain<IUserQuotaGrain>(name).SetGpuLimit(limit);
        return user is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", $"No user '{name}'.", "name")
            : Results.Ok(Describe(user));
    }

    const int MaxGpuLimit = 100_000;

    static object Describe(UserView user) =>
        new { name = user.Name, gpu_limit = user.GpuLimit, gpus_reserved = user.GpusReserved, created_at = user.CreatedAt };

    static async Task<IResult> Me(HttpContext http, IGrainFactory grains)
    {
        var user = await grains.GetGrain<IUserQuotaGrain>(http.User.Identity!.Name!).Get();
        return user is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", "No account.")
            : Results.Ok(Describe(user));
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")]
    private static partial Regex NamePattern();
}
