using System.Net.Http.Headers;
using DeepDeploy.LocalHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace DeepDeploy.Tests.ModelHub;

/// <summary>A real Kestrel host on 127.0.0.1:0 serving MapLocalHub("/hub") over a temp directory of fake repos.</summary>
public sealed class LocalHubFixture : IAsyncLifetime
{
    public const string SmallRepo = "acme/small";
    public const string OtherRepo = "acme/other";
    public const string SecretText = "TOP-SECRET-OUTSIDE-THE-HUB";

    private WebApplication? _app;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "deepdeploy-hub-" + Guid.NewGuid().ToString("N"));
    public string Root => Path.Combine(Directory, "models");
    public string BaseAddress { get; private set; } = "";
    public string HubEndpoint => BaseAddress + "/hub";
    public byte[] Weights { get; } = new byte[300_000 + 17];
    public byte[] Config { get; } = "{\"model_type\":\"llama\"}\n"u8.ToArray();
    public byte[] Notes { get; } = "nested file\n"u8.ToArray();

    /// <summary>Authorization headers seen by the host, most recent last.</summary>
    public List<string?> AuthorizationHeaders { get; } = [];

    public async Task InitializeAsync()
    {
        new Random(7).NextBytes(Weights);
        Write(SmallRepo, "config.json", Config);
        Write(SmallRepo, "weights.gguf", Weights);
        Write(SmallRepo, "sub/dir/notes.txt", Notes);
        Write(OtherRepo, "README.md", "# other\n"u8.ToArray());
        File.WriteAllText(Path.Combine(Root, "secret.txt"), SecretText);
        File.WriteAllText(Path.Combine(Directory, "secret.txt"), SecretText);
        // A symlink inside a repo pointing outside the hub must be neither listed nor served.
        File.CreateSymbolicLink(Path.Combine(Root, "acme", "other", "escape.txt"), Path.Combine(Directory, "secret.txt"));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Urls.Add("http://127.0.0.1:0");
        _app.Use(async (context, next) =>
        {
            lock (AuthorizationHeaders)
            {
                AuthorizationHeaders.Add(context.Request.Headers.Authorization.FirstOrDefault());
            }

            await next(context);
        });
        _app.MapLocalHub("/hub", Root);
        // A hub that refuses everything, like huggingface.co for a gated repo without a token.
        _app.MapGet("/locked/api/models/{owner}/{name}", (HttpContext context) =>
        {
            context.Response.Headers["X-Error-Code"] = "GatedRepo";
            return Results.Json(new { error = "Access to model is restricted" }, statusCode: 401);
        });
        await _app.StartAsync();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        BaseAddress = addresses.Addresses.Single().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Write(string repo, string path, byte[] content)
    {
        var full = Path.Combine(Root, repo, path);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }

    public HttpClient CreateHttpClient(RecordingHandler? recorder = null) =>
        recorder is null ? new HttpClient() : new HttpClient(recorder);
}

/// <summary>Records request Range headers and response statuses of a client.</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public List<(HttpMethod Method, string Url, RangeHeaderValue? Range, int Status)> Calls { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        Calls.Add((request.Method, request.RequestUri!.ToString(), request.Headers.Range, (int)response.StatusCode));
        return response;
    }
}
