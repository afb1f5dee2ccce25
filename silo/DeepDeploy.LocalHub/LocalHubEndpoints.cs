using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace DeepDeploy.LocalHub;

/// <summary>
/// A local stand-in for the Hugging Face Hub's download API, serving models kept under
/// <c>&lt;root&gt;/&lt;owner&gt;/&lt;name&gt;/…</c>. Mapped under a prefix (e.g. <c>/hub</c>) so that
/// <c>HF_ENDPOINT=http://host:port/hub</c> works for huggingface_hub-style clients.
/// Revisions: <c>main</c> is the folder itself, another branch or tag <c>R</c> the folder <c>&lt;name&gt;@R</c>, and any
/// of their commit ids (computed from their files). Control files in the repo folder (never served):
/// <c>.deepdeploy-private</c> makes the repo private, its lines are the accepted tokens (no token: 401 RepoNotFound,
/// a wrong one: 401 "Invalid credentials", as huggingface.co answers); <c>.deepdeploy-cut</c> holding "N [times]"
/// cuts file downloads after N bytes (the connection drops), every time or the first <c>times</c> times per file;
/// <c>.deepdeploy-throttle</c> holding N sends file downloads at N bytes per second; <c>.deepdeploy-oversize</c> holding
/// N sends N bytes more than a file's reported size.
/// </summary>
public static class LocalHubEndpoints
{
    /// <summary>In a repo folder: makes the repo private; its lines are the tokens accepted.</summary>
    public const string PrivateFile = LocalHubStore.PrivateFile;

    /// <summary>In a repo folder: "N [times]" cuts file downloads after N bytes (every time, or the first times per file).</summary>
    public const string CutFile = LocalHubStore.CutFile;

    /// <summary>In a repo folder: "N" sends file downloads at N bytes per second (slow downloads).</summary>
    public const string ThrottleFile = LocalHubStore.ThrottleFile;

    /// <summary>In a repo folder: "N" sends N bytes more than a file's reported size, without a Content-Length (a lying hub).</summary>
    public const string OversizeFile = LocalHubStore.OversizeFile;

    /// <summary>Response header carrying the resolved commit id (as on huggingface.co).</summary>
    public const string RepoCommitHeader = "X-Repo-Commit";

    /// <summary>Response header carrying the machine-readable error code (as on huggingface.co).</summary>
    public const string ErrorCodeHeader = "X-Error-Code";

    /// <summary>Response header carrying the human-readable error message (as on huggingface.co).</summary>
    public const string ErrorMessageHeader = "X-Error-Message";

    /// <summary>
    /// Maps <c>GET {prefix}/api/models/{owner}/{name}[/revision/{revision}]</c> and
    /// <c>GET|HEAD {prefix}/{owner}/{name}/resolve/{revision}/{**path}</c>.
    /// </summary>
    /// <returns>The route group; add auth or metadata to it as needed.</returns>
    public static IEndpointConventionBuilder MapLocalHub(this IEndpointRouteBuilder app, string prefix, string rootDirectory)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);

        var store = new LocalHubStore(rootDirectory);
        var group = app.MapGroup(NormalizePrefix(prefix));

        group.MapGet("/api/models/{owner}/{name}",
            (HttpContext context, string owner, string name, bool? blobs) => RepoInfo(store, context, owner, name, "main", blobs == true));
        group.MapGet("/api/models/{owner}/{name}/revision/{revision}",
            (HttpContext context, string owner, string name, string revision, bool? blobs) => RepoInfo(store, context, owner, name, revision, blobs == true));
        group.MapMethods("/{owner}/{name}/resolve/{revision}/{**path}", [HttpMethods.Get, HttpMethods.Head],
            (HttpContext context, string owner, string name, string revision, string? path) => Resolve(store, context, owner, name, revision, path));

        return group;
    }

    private static string NormalizePrefix(string? prefix)
    {
        if (string.IsNullOrWhiteSpace(prefix) || prefix == "/")
        {
            return "/";
        }

        return "/" + prefix.Trim().Trim('/');
    }

    /// <summary>The snapshot of a revision, or the Hub's error: 404 RepoNotFound / RevisionNotFound, 401 for a private repo.</summary>
    private static (LocalHubSnapshot? Snapshot, IResult? Error) Lookup(LocalHubStore store, HttpContext context, string owner, string name, string revision)
    {
        var (repo, snapshot) = store.Find(owner, name, revision);
        if (repo is null)
        {
            return (null, Error(StatusCodes.Status404NotFound, "RepoNotFound", "Repository not found"));
        }

        if (repo.AcceptedTokens is { } accepted)
        {
            var header = context.Request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : "";
            if (token.Length == 0)
            {
                // huggingface.co hides a private repo from anonymous callers.
                return (null, Error(StatusCodes.Status401Unauthorized, "RepoNotFound",
                    "Repository not found. If you are trying to access a private or gated repo, make sure you are authenticated."));
            }

            if (!accepted.Contains(token, StringComparer.Ordinal))
            {
                return (null, Error(StatusCodes.Status401Unauthorized, null, "Invalid credentials in Authorization header"));
            }
        }

        return snapshot is null
            ? (null, Error(StatusCodes.Status404NotFound, "RevisionNotFound", $"Invalid rev id: {revision}"))
            : (snapshot, null);
    }

    private static IResult RepoInfo(LocalHubStore store, HttpContext context, string owner, string name, string revision, bool blobs)
    {
        var (snapshot, error) = Lookup(store, context, owner, name, revision);
        if (snapshot is null)
        {
            return error!;
        }

        var siblings = new JsonArray();
        foreach (var file in snapshot.Files)
        {
            var sibling = new JsonObject { ["rfilename"] = file.Path };
            if (blobs)
            {
                sibling["blobId"] = file.GitBlobSha1;
                sibling["size"] = file.Size;
                if (file.IsLfs)
                {
                    sibling["lfs"] = new JsonObject { ["sha256"] = file.Sha256, ["size"] = file.Size, ["pointerSize"] = 134 };
                }
            }

            siblings.Add(sibling);
        }

        var lastModified = snapshot.Files.Count == 0 ? DateTime.UnixEpoch : snapshot.Files.Max(f => f.LastWriteUtc);
        var tags = new JsonArray();
        if (snapshot.Files.Any(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)))
        {
            tags.Add("gguf");
        }

        var body = new JsonObject
        {
            ["_id"] = snapshot.Commit[..24],
            ["id"] = snapshot.RepoId,
            ["modelId"] = snapshot.RepoId,
            ["author"] = owner,
            ["sha"] = snapshot.Commit,
            ["lastModified"] = lastModified.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["private"] = snapshot.AcceptedTokens is not null,
            ["disabled"] = false,
            ["gated"] = false,
            ["downloads"] = 0,
            ["likes"] = 0,
            ["tags"] = tags,
            ["siblings"] = siblings,
            ["usedStorage"] = snapshot.Files.Sum(f => f.Size),
        };
        return Results.Content(body.ToJsonString(), "application/json");
    }

    private static IResult Resolve(LocalHubStore store, HttpContext context, string owner, string name, string revision, string? path)
    {
        var (snapshot, error) = Lookup(store, context, owner, name, revision);
        if (snapshot is null)
        {
            return error!;
        }

        if (!LocalHubPaths.TryGetFilePath(snapshot.Directory, path, out _))
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidPath", "Invalid file path");
        }

        // Only files that are part of the snapshot are served (no symlink escapes, no .git, no partial files).
        var file = snapshot.Find(path!);
        if (file is null)
        {
            return Error(StatusCodes.Status404NotFound, "EntryNotFound", "Entry not found");
        }

        var headers = context.Response.Headers;
        headers[RepoCommitHeader] = snapshot.Commit;
        headers[HeaderNames.AcceptRanges] = "bytes";
        var etag = new EntityTagHeaderValue($"\"{file.ETag}\"");

        if (HttpMethods.IsHead(context.Request.Method))
        {
            headers[HeaderNames.ETag] = etag.ToString();
            headers[HeaderNames.LastModified] = file.LastWriteUtc.ToString("R", CultureInfo.InvariantCulture);
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = file.Size;
            return Results.Empty;
        }

        if (snapshot.Misbehaves)
        {
            var cut = snapshot.CutAfterBytes is { } bytes && store.ShouldCut(snapshot, file.Path) ? bytes : (long?)null;
            return new LocalHubFileResult(file.FullPath, file.Size, etag.ToString(), cut, snapshot.BytesPerSecond, snapshot.ExtraBytes ?? 0);
        }

        return Results.File(file.FullPath, "application/octet-stream", fileDownloadName: null,
            lastModified: new DateTimeOffset(file.LastWriteUtc, TimeSpan.Zero), entityTag: etag, enableRangeProcessing: true);
    }

    private static IResult Error(int status, string? code, string message) => new HubErrorResult(status, code, message);

    /// <summary>The Hub's error shape: JSON <c>{"error": "..."}</c> plus <c>X-Error-Code</c>/<c>X-Error-Message</c>.</summary>
    private sealed class HubErrorResult(int status, string? code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            if (code is not null)
            {
                response.Headers[ErrorCodeHeader] = code;
            }

            response.Headers[ErrorMessageHeader] = message;
            var json = new JsonObject { ["error"] = message }.ToJsonString();
            response.ContentType = "application/json";
            if (HttpMethods.IsHead(httpContext.Request.Method))
            {
                return Task.CompletedTask;
            }

            return response.WriteAsync(json);
        }
    }
}
