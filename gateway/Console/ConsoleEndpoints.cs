using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>The console's few non-page endpoints: its assets, sign-out, and the chat box's streaming relay.</summary>
public static class ConsoleEndpoints
{
    /// <summary>The chat relay's body limit: the inference API's own is larger, a console chat needs far less.</summary>
    const int MaxChatBytes = 256 * 1024;

    public static void MapConsoleEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect("/console")).ExcludeFromDescription();
        app.MapGet("/console/assets/{name}", Asset).ExcludeFromDescription();
        var session = app.MapGroup("/console").ExcludeFromDescription()
            .RequireAuthorization(p => p.AddAuthenticationSchemes(ConsoleCookie.SchemeName).RequireAuthenticatedUser());
        session.MapPost("/signout", SignOut);
        session.MapPost("/chat", Chat);
    }

    static IResult Asset(string name)
    {
        var type = Path.GetExtension(name) switch
        {
            ".css" => "text/css; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".png" => "image/png",
            _ => null,
        };
        var stream = type is null ? null : typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("console/" + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }

    static async Task<IResult> SignOut(HttpContext http, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return BadForm();
        }

        await http.SignOutAsync(ConsoleCookie.SchemeName);
        return Results.Redirect(ConsoleCookie.SignInPath);
    }

    /// <summary>Passes the chat box's request to the OpenAI-compatible API as the signed-in user and streams the
    /// answer back as it comes: the API's admission, limits and errors apply unchanged.</summary>
    static async Task Chat(HttpContext http, IAntiforgery antiforgery, ConsoleApi api)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            await BadForm().ExecuteAsync(http);
            return;
        }

        if (http.Request.ContentLength is null or > MaxChatBytes)
        {
            await ApiErrors.Write(http, StatusCodes.Status413PayloadTooLarge, "body_too_large",
                $"The chat request must state its length and be at most {MaxChatBytes} bytes.", "body");
            return;
        }

        using var request = api.Request(HttpMethod.Post, "v1/openai/chat/completions", http.User);
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        request.Content = new ByteArrayContent(body.ToArray());
        request.Content.Headers.ContentType = new("application/json");
        using var response = await api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
        http.Response.StatusCode = (int)response.StatusCode;
        http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
        await using var stream = await response.Content.ReadAsStreamAsync(http.RequestAborted);
        await stream.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    static IResult BadForm() => ApiErrors.Result(StatusCodes.Status400BadRequest, "invalid_form",
        "The form's anti-forgery token is missing or stale: reload the page and try again.", "__RequestVerificationToken");
}
