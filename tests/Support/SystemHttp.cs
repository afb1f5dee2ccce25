using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace DeepDeploy.Tests.Support;

/// <summary>What every test of a whole running system (in-process or as OS processes) does over HTTP: a data
/// directory, the operator's token, clients with a bearer token, users, and waiting for a deployment's state.</summary>
public static class SystemHttp
{
    /// <summary>The operator token the test systems are started with.</summary>
    public const string AdminToken = "test-admin-token-0123456789abcdef0123456789";

    /// <summary>A fresh, empty data directory under the temp directory.</summary>
    public static string NewDataDirectory(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>A client of <paramref name="baseAddress"/>, with <paramref name="token"/> as bearer when given.</summary>
    public static HttpClient Client(Uri baseAddress, string? token, TimeSpan timeout)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = timeout };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Creates a user through the admin API (with <paramref name="admin"/>, a client with the operator's
    /// token), and returns the user's token.</summary>
    public static async Task<string> CreateUserAsync(HttpClient admin, string name)
    {
        var response = await admin.PostAsJsonAsync("/admin/users", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(name, body.GetProperty("name").GetString());
        return body.GetProperty("token").GetString()!;
    }

    /// <summary>Polls <c>GET /deploy/{id}</c> until <paramref name="done"/> holds, and returns that deploy object.
    /// An error answer or a refused connection (a restarting process) counts as "not yet".</summary>
    public static Task<JsonElement> WaitForDeploymentAsync(HttpClient client, string deployId, Func<JsonElement, bool> done, TimeSpan timeout) =>
        Eventually.MatchAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/deploy/{deployId}"),
            done,
            timeout,
            $"deployment {deployId} there");

    /// <summary>Running, with exactly one running instance.</summary>
    public static bool IsRunningWithOneInstance(JsonElement deploy) =>
        deploy.GetProperty("status").GetString() == "running" && deploy.GetProperty("instances").GetProperty("running").GetInt32() == 1;

    /// <summary>Waits until the process's HTTP endpoint answers <c>/health</c> with a success.</summary>
    public static async Task WaitHealthyAsync(ProcessHost host, Uri baseAddress, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await host.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync("/health");
            return response.IsSuccessStatusCode;
        }, timeout, "healthy");
    }
}
