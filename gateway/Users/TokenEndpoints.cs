using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.Users;

/// <summary>Named API tokens: a user creates, lists and revokes their own (/v1/me/tokens); the operator lists a
/// user's, issues one, or revokes them all (/admin/users/{name}/...). A secret is shown once, at creation.</summary>
public static class TokenEndpoints
{
    public static void MapTokenEndpoints(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/v1/me/tokens").WithTags("Users").RequireAuthorization(p => p.RequireRole(Roles.User));
        me.MapGet("", (HttpContext http, IGrainFactory grains) => List(grains, Caller(http)))
            .WithSummary("The caller's API tokens: names and dates, never the secrets");
        me.MapPost("", (HttpContext http, IGrainFactory grains) => Create(http, grains, Caller(http)))
            .WithSummary("Create a named API token; the answer holds its secret, shown once")
            .Accepts<TokenBody>("application/json")
            .Produces<ApiErrorBody>(StatusCodes.Status409Conflict);
        me.MapDelete("/{token}", Revoke).WithSummary("Revoke one of the caller's tokens (refused everywhere within 5 s)");

        var admin = app.MapGroup("/admin/users/{name}").WithTags("Operator").RequireAuthorization(p => p.RequireRole(Roles.Operator));
        admin.MapGet("/tokens", (IGrainFactory grains, string name) => List(grains, TokenNames.Check(name, "name")))
            .WithSummary("A user's API tokens: names and dates, never the secrets");
        admin.MapPost("/tokens", (HttpContext http, IGrainFactory grains, string name) => Create(http, grains, TokenNames.Check(name, "name")))
            .WithSummary("Issue a named API token for a user; the answer holds its secret, shown once")
            .Accepts<TokenBody>("application/json");
        admin.MapPost("/revoke", RevokeAll).WithSummary("Revoke all of a user's API tokens (refused everywhere within 5 s)");
    }

    static string Caller(HttpContext http) => http.User.Identity!.Name!;

    static async Task<IResult> List(IGrainFactory grains, string user)
    {
        var tokens = await Directory(grains).ListTokens(user);
        return tokens is null
            ? NoUser(user)
            : Results.Ok(tokens.Select(t => new { name = t.Name, created_at = t.CreatedAt, last_used_day = t.LastUsedDay }));
    }

    static async Task<IResult> Create(HttpContext http, IGrainFactory grains, string user)
    {
        var name = (await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.TokenBody, http.RequestAborted)).Validate();
        var token = TokenHasher.NewToken("dd-");
        return await Directory(grains).AddToken(user, name, TokenHasher.Hash(token)) switch
        {
            TokenAddResult.Added => Results.Json(new { name, token }, statusCode: StatusCodes.Status201Created),
            TokenAddResult.NameTaken => ApiErrors.Result(StatusCodes.Status409Conflict, "token_exists", $"A token named '{name}' already exists.", "name"),
            TokenAddResult.TooMany => ApiErrors.Result(StatusCodes.Status409Conflict, "token_limit",
                $"At most {ApiTokens.MaxPerUser} tokens per user: revoke one first.", "name"),
            _ => NoUser(user),
        };
    }

    static async Task<IResult> Revoke(HttpContext http, IGrainFactory grains, string token) =>
        await Directory(grains).RevokeToken(Caller(http), TokenNames.Check(token, "token"))
            ? Results.NoContent()
            : ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", $"No token named '{token}'.", "token");

    static async Task<IResult> RevokeAll(IGrainFactory grains, string name)
    {
        var revoked = await Directory(grains).RevokeAllTokens(TokenNames.Check(name, "name"));
        return revoked is null ? NoUser(name) : Results.Ok(new { name, revoked });
    }

    static IResult NoUser(string name) => ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", $"No user '{name}'.", "name");

    static IUserDirectoryGrain Directory(IGrainFactory grains) => grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key);
}
