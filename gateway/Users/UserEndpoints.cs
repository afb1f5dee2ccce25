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
        app.MapPost("/admin/users", CreateUser).RequireAuthorization(p => p.RequireRole(Roles.Operator));
        app.MapGet("/v1/me", Me).RequireAuthorization(p => p.RequireRole(Roles.User));
    }

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

    static async Task<IResult> Me(HttpContext http, IGrainFactory grains)
    {
        var user = await grains.GetGrain<IUserQuotaGrain>(http.User.Identity!.Name!).Get();
        return user is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", "No account.")
            : Results.Ok(new { name = user.Name, gpu_limit = user.GpuLimit, gpus_reserved = user.GpusReserved });
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")]
    private static partial Regex NamePattern();
}
