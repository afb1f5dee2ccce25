using System.Net;
using System.Text.Json;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// Maps a hub's refusal to a <see cref="HubException"/>: its kind from the hub's <c>X-Error-Code</c> (huggingface_hub's
/// convention) or else the HTTP status, and a message that tells a tenant nothing about a repo it may not read.
/// </summary>
internal static class HubErrors
{
    public static async Task<HubException> FromResponseAsync(HttpResponseMessage response, string endpoint, string repo, string revision, string? file,
        CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var hubMessage = response.Headers.TryGetValues("X-Error-Message", out var messages) ? messages.FirstOrDefault() : null;
        if (hubMessage is null && response.RequestMessage?.Method != HttpMethod.Head)
        {
            hubMessage = await TryReadErrorBodyAsync(response, ct).ConfigureAwait(false);
        }

        var kind = code switch
        {
            "RepoNotFound" => HubErrorKind.RepoNotFound,
            "RevisionNotFound" => HubErrorKind.RevisionNotFound,
            "EntryNotFound" => HubErrorKind.EntryNotFound,
            "GatedRepo" => HubErrorKind.Unauthorized,
            _ => response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => HubErrorKind.Unauthorized,
                HttpStatusCode.NotFound => file is null ? HubErrorKind.RepoNotFound : HubErrorKind.EntryNotFound,
                _ => HubErrorKind.Network,
            },
        };

        var detail = string.IsNullOrWhiteSpace(hubMessage) ? "" : $": {hubMessage.Trim()}";
        var message = kind switch
        {
            // Whether a repo exists, is private or gated, and what the hub says of it, is not the caller's to learn.
            HubErrorKind.RepoNotFound or HubErrorKind.Unauthorized => HuggingFaceClient.NotAccessible(repo),
            HubErrorKind.RevisionNotFound => $"revision '{revision}' of weights repo '{repo}' not found at {endpoint} (HTTP {status})",
            HubErrorKind.EntryNotFound => $"file '{file}' of weights repo '{repo}' not found at revision '{revision}' at {endpoint} (HTTP {status})",
            _ => $"weights repo '{repo}' at {endpoint}: unexpected HTTP {status} {response.ReasonPhrase}{detail}",
        };
        return new HubException(kind, repo, endpoint, message, status);
    }

    static async Task<string?> TryReadErrorBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (body.Length > 4096)
            {
                body = body[..4096];
            }

            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            return null;
        }
    }
}
