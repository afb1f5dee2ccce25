using System.Collections.Concurrent;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.LocalHub;
using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Node.Weights;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Tests.Weights;

/// <summary>The local hub stand-in (test double for huggingface.co) on its own Kestrel host over real HTTP, counting
/// the requests it answers, over a fresh folder of repos.</summary>
public sealed class WeightsHub : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ConcurrentQueue<(string Method, string Path, string? Range)> _requests = new();

    WeightsHub(WebApplication app, string root, string endpoint)
    {
        _app = app;
        Root = root;
        Endpoint = endpoint;
    }

    public string Root { get; }

    /// <summary>HF_ENDPOINT of this hub.</summary>
    public string Endpoint { get; }

    public IReadOnlyList<(string Method, string Path, string? Range)> Requests => _requests.ToArray();

    /// <summary>GETs of file contents (downloads) for a repo, HEADs excluded.</summary>
    public int Downloads(string repo, string? file = null) => _requests.Count(r => r.Method == "GET"
        && r.Path.Contains($"/{repo}/resolve/", StringComparison.Ordinal) && (file is null || r.Path.EndsWith("/" + file, StringComparison.Ordinal)));

    public static async Task<WeightsHub> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("deepdeploy-weights-hub-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        WeightsHub? hub = null;
        app.Use(async (context, next) =>
        {
            hub?._requests.Enqueue((context.Request.Method, context.Request.Path.Value ?? "", context.Request.Headers.Range.FirstOrDefault()));
            await next(context);
        });
        app.MapLocalHub("/hub", root);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
        hub = new WeightsHub(app, root, address + "/hub");
        return hub;
    }

    public string Write(string repo, string path, byte[] content)
    {
        var full = Path.Combine(Root, repo, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    /// <summary>A tiny llama GGUF (loads in the real worker); different seeds give different files.</summary>
    public string WriteGguf(string repo, string path, int seed)
    {
        var full = Path.Combine(Root, repo, path);
        TinyLlamaGguf.Write(full, seed);
        return full;
    }

    public void MakePrivate(string repo, params string[] tokens) =>
        File.WriteAllLines(Path.Combine(Root, repo, LocalHubEndpoints.PrivateFile), tokens);

    public void Cut(string repo, long bytes, int times) =>
        File.WriteAllText(Path.Combine(Root, repo, LocalHubEndpoints.CutFile), $"{bytes} {times}");

    /// <summary>File downloads of <paramref name="repo"/> at <paramref name="bytesPerSecond"/>; null: full speed again.</summary>
    public void Throttle(string repo, long? bytesPerSecond)
    {
        var control = Path.Combine(Root, repo, LocalHubEndpoints.ThrottleFile);
        if (bytesPerSecond is null)
        {
            File.Delete(control);
        }
        else
        {
            File.WriteAllText(control, bytesPerSecond.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>File downloads of <paramref name="repo"/> send <paramref name="extraBytes"/> more than the size the hub reports.</summary>
    public void Oversize(string repo, long extraBytes) =>
        File.WriteAllText(Path.Combine(Root, repo, LocalHubEndpoints.OversizeFile), extraBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A node's weights cache on a temp folder against a hub, outside any silo; its disk can be simulated.</summary>
public sealed class CacheUnderTest : IDisposable
{
    public CacheUnderTest(string endpoint, long? limit = null, string? defaultToken = null, string? tokenRepos = "*/*",
        WeightsOptions? weights = null, IDiskSpace? disk = null)
    {
        Data = Directory.CreateTempSubdirectory("deepdeploy-cache-").FullName;
        Paths = new NodePaths(Data, "n1");
        Protection = DataProtectionProvider.Create(new DirectoryInfo(Path.Combine(Data, "keys")));
        Endpoint = new HfEndpoint(endpoint) { DefaultToken = defaultToken, TokenRepos = RepoGlobs.Parse(tokenRepos) };
        Cache = new WeightsCache(Paths, Endpoint, new Factory(), Protection, disk ?? new VolumeDiskSpace(),
            Options.Create(new NodeOptions { CacheLimitBytes = limit, ProgressInterval = TimeSpan.FromMilliseconds(50) }),
            Options.Create(weights ?? new WeightsOptions()), NullLogger<WeightsCache>.Instance);
    }

    public string Data { get; }
    public NodePaths Paths { get; }
    public IDataProtectionProvider Protection { get; }
    public HfEndpoint Endpoint { get; }
    public WeightsCache Cache { get; }

    /// <summary>Partial and finished blobs of every repo in the cache.</summary>
    public IReadOnlyList<string> Blobs() => Directory.Exists(Paths.ModelsDirectory)
        ? Directory.GetFiles(Paths.ModelsDirectory, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "blobs").ToList()
        : [];

    public InstanceLaunch Launch(string repo, string commit, string file, string? token = null, string format = WeightsFormats.Gguf) =>
        new($"i-{Guid.NewGuid():N}", "d1", "u/m", "A100-80GB", 1, 4, repo, commit, file,
            token is null ? null : Protection.CreateProtector(DeepDeploy.Contracts.Deployments.SecretPurposes.HfToken).Protect(token), [], null, format);

    public void Dispose()
    {
        try { Directory.Delete(Data, recursive: true); } catch (IOException) { }
    }

    public sealed class Factory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }
}
