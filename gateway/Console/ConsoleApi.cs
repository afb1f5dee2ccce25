using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using DeepDeploy.Gateway.Auth;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>The console's only way to the system: the public HTTP API of this gateway, with the signed-in user's
/// token. Every rule, limit and error message is the API's own; the console has no private door.</summary>
public sealed class ConsoleApi(HttpClient http, SelfAddress self, IHttpContextAccessor context)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public Task<ApiAnswer> GetAsync(string path, CancellationToken cancel = default) => SendAsync(HttpMethod.Get, path, null, cancel);

    public Task<ApiAnswer> PostAsync(string path, object? body, CancellationToken cancel = default) => SendAsync(HttpMethod.Post, path, body, cancel);

    public Task<ApiAnswer> PutAsync(string path, object? body, CancellationToken cancel = default) => SendAsync(HttpMethod.Put, path, body, cancel);

    public Task<ApiAnswer> DeleteAsync(string path, CancellationToken cancel = default) => SendAsync(HttpMethod.Delete, path, null, cancel);

    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancel)
    {
        using var request = Request(method, path, context.HttpContext!.User);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        using var response = await http.SendAsync(request, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        JsonElement parsed;
        try
        {
            parsed = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            parsed = default;
        }

        return new ApiAnswer((int)response.StatusCode, parsed);
    }

    /// <summary>A request to this gateway's API as <paramref name="user"/>, for answers the caller streams itself.</summary>
    public HttpRequestMessage Request(HttpMethod method, string path, ClaimsPrincipal user)
    {
        var token = user.FindFirst(TokenIdentity.TokenClaim)?.Value ?? throw new InvalidOperationException("Not signed in to the console.");
        var request = new HttpRequestMessage(method, new Uri(self.Address, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    public HttpClient Client => http;
}
