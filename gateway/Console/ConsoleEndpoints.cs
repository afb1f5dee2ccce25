using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>The console's few non-page endpoints: its assets, sign-out, the chat box's streaming relay, and the relays
/// of a deployment's live events and logs.</summary>
public static class ConsoleEndpoints
{
    /// <summary>The chat relay's body limit: the inference API's own is larger, a console chat needs far less.</summary>
    const int MaxChatBytes = 256 * 1024;

    /// <summary>Lines of each instance's log the deployment page shows (and a log follow starts with).</summary>
    public const int LogLines = 40;

    public static void MapConsoleEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect("/console")).ExcludeFromDescription();
        app.MapGet("/console/assets/{name}", Asset).ExcludeFromDescription();
        var session = app.MapGroup("/console").ExcludeFromDescription()
            .RequireAuthorization(p => p.AddAuthenticationSchemes(ConsoleCookie.SchemeName).RequireAuthenticatedUser());
        session.MapPost("/signout", SignOut);
        session.MapPost("/chat", Chat);
        session.MapGet("/deployments/{deployId}/events", FollowEvents);
        session.MapGet("/deployments/{deployId}/logs", FollowLogs);
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
        await RelayAsync(http, api, request);
    }

    /// <summary>The deployment page's timeline: <c>GET /deploy/{id}/events?follow=true</c> as the signed-in user. The
    /// browser's EventSource sends the cookie, not a token, and resumes with Last-Event-ID, which the API checks.</summary>
    static async Task FollowEvents(HttpContext http, ConsoleApi api, string deployId, [FromQuery(Name = "after")] string? after)
    {
        var path = $"deploy/{Uri.EscapeDataString(deployId)}/events?follow=true"
            + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
        using var request = api.Request(HttpMethod.Get, path, http.User);
        var resume = http.Request.Headers["Last-Event-ID"].ToString();
        if (resume.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", resume);
        }

        await RelayAsync(http, api, request);
    }

    /// <summary>The deployment page's logs: <c>GET /deploy/{id}/logs?follow=true</c> as the signed-in user.</summary>
    static async Task FollowLogs(HttpContext http, ConsoleApi api, string deployId)
    {
        using var request = api.Request(HttpMethod.Get, $"deploy/{Uri.EscapeDataString(deployId)}/logs?follow=true&lines={LogLines}", http.User);
        await RelayAsync(http, api, request);
    }

    /// <summary>Sends <paramref name="request"/> to the API and streams its answer back as it comes (status, content
    /// type and body; an error is the API's own JSON) until it ends or the browser leaves.</summary>
    static async Task RelayAsync(HttpContext http, ConsoleApi api, HttpRequestMessage request)
    {
        var aborted = http.RequestAborted;
        try
        {
            using var response = await api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, aborted);
            http.Response.StatusCode = (int)response.StatusCode;
            http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            if (response.Headers.CacheControl is { } cache)
            {
                http.Response.Headers.CacheControl = cache.ToString();
            }

            await using var stream = await response.Content.ReadAsStreamAsync(aborted);
            await stream.CopyToAsync(http.Response.Body, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The browser left (a page closed or reloaded): the normal end of a follow.
        }
    }

    static IResult BadForm() => ApiErrors.Result(StatusCodes.Status400BadRequest, "invalid_form",
        "The form's anti-forgery token is missing or stale: reload the page and try again.", "__RequestVerificationToken");
}
