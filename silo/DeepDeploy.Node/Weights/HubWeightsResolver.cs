using System.Globalization;
using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Contracts.Nodes;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// Resolves a deployment's weights on the Hub: revision → commit, and what to run. GGUF repos: the file named by
/// <c>quantization</c> (a file name, or a quantization name such as <c>Q4_K_M</c> in the file name), by default the
/// largest that fits the instance's GPU memory (num_gpus × the type's memory × <see cref="UsableMemoryFraction"/>),
/// else the largest. Repos with safetensors and no GGUF: the whole snapshot, for an external engine.
/// </summary>
public sealed partial class HubWeightsResolver(HfEndpoint endpoint, IHttpClientFactory http, IDataProtectionProvider protection,
    IOptions<WeightsOptions> options) : IWeightsResolver
{
    /// <summary>Share of GPU memory the weights may take; the rest is headroom for the KV cache and activations.</summary>
    public const double UsableMemoryFraction = 0.85;

    public Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken) =>
        ResolveAsync(new WeightsRequest(repo, revision, tokenProtected, null, "", 1), cancellationToken);

    public async Task<WeightsResolution> ResolveAsync(WeightsRequest request, CancellationToken cancellationToken)
    {
        var client = await endpoint.CreateClientAsync(http.CreateClient(nameof(HuggingFaceClient)));
        try
        {
            var token = endpoint.TokenFor(request.Repo, Unprotect(protection, request.TokenProtected));
            var snapshot = await client.ResolveAsync(request.Repo, request.Revision, token, cancellationToken);
            var resolution = Choose(snapshot, request.Quantization, GpuMemoryBytes(request.Gpu, request.NumGpus));
            return resolution.Error is null && TooLarge(snapshot, resolution, options.Value.MaxWeightsBytes) is { } tooLarge
                ? WeightsResolution.Failed(tooLarge)
                : resolution;
        }
        catch (HubException e)
        {
            return WeightsResolution.Failed(e.Message);
        }
    }

    /// <summary>What to run from <paramref name="snapshot"/>; <paramref name="memoryBytes"/> null: unknown GPU memory.</summary>
    public static WeightsResolution Choose(RepoSnapshot snapshot, string? quantization, long? memoryBytes)
    {
        var at = $"weights repo '{snapshot.Repo}' at revision '{snapshot.Revision}'";
        var ggufs = snapshot.Files.Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)).ToList();
        if (ggufs.Count == 0)
        {
            if (snapshot.Files.Any(f => f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)))
            {
                // The quantization (if any) goes to the external engine as it is, e.g. vLLM's --quantization awq.
                return WeightsResolution.Snapshot(snapshot.Commit);
            }

            return WeightsResolution.Failed($"{at} has no .gguf or .safetensors weights (files: {List(snapshot.Files, 20)})");
        }

        // Split GGUF files (-00001-of-00003) need all their parts: the built-in engine runs single files.
        var single = ggufs.Where(f => !SplitPart().IsMatch(f.Path)).ToList();
        if (quantization is not null)
        {
            var exact = ggufs.FirstOrDefault(f => f.Path == quantization || Path.GetFileName(f.Path) == quantization);
            var match = exact ?? single.Where(f => Matches(f.Path, quantization)).OrderByDescending(f => f.Size).FirstOrDefault();
            return match is not null
                ? WeightsResolution.Resolved(snapshot.Commit, match.Path)
                : WeightsResolution.Failed($"{at} has no GGUF file for quantization '{quantization}'; it has: {List(ggufs, 30)}");
        }

        if (single.Count == 0)
        {
            return WeightsResolution.Failed($"{at} has only split GGUF files, which the built-in engine does not run: {List(ggufs, 30)}");
        }

        var best = single.Where(f => memoryBytes is null || f.Size <= memoryBytes * UsableMemoryFraction).MaxBy(f => f.Size)
            ?? single.MaxBy(f => f.Size)!;
        return WeightsResolution.Resolved(snapshot.Commit, best.Path);
    }

    /// <summary>Why a resolution's weights may not be downloaded: more than <paramref name="maxBytes"/> by the sizes the hub
    /// reports (the GGUF file, or the snapshot's weights, config and tokenizer files); null when they fit. Nodes check
    /// again with what they would really download.</summary>
    public static string? TooLarge(RepoSnapshot snapshot, WeightsResolution resolution, long maxBytes)
    {
        var files = resolution.Format == WeightsFormats.Safetensors
            ? snapshot.Files.Where(f => WeightsFiles.Takes(f.Path, resolution.Format, allowCodeFiles: false))
            : snapshot.Files.Where(f => f.Path == resolution.File);
        var size = files.Sum(f => f.Size);
        return size > maxBytes ? OverLimit(snapshot.Repo, size, maxBytes) : null;
    }

    /// <summary>The reason a deployment whose weights are <paramref name="size"/> bytes fails.</summary>
    public static string OverLimit(string repo, long size, long maxBytes) =>
        $"weights of repo '{repo}' are {Size(size)} ({size} bytes), over the maximum weights size of {Size(maxBytes)} ({maxBytes} bytes) per deployment (DeepDeploy:Node:MaxWeightsBytes)";

    /// <summary>True when the file name holds <paramref name="quantization"/> as a whole part: "Q4_K" matches
    /// "m.Q4_K.gguf" and "m-Q4_K-x.gguf" but not "m.Q4_K_M.gguf". Case does not matter.</summary>
    public static bool Matches(string path, string quantization)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        for (var i = name.IndexOf(quantization, StringComparison.OrdinalIgnoreCase); i >= 0;
             i = name.IndexOf(quantization, i + 1, StringComparison.OrdinalIgnoreCase))
        {
            var end = i + quantization.Length;
            if ((i == 0 || name[i - 1] is '.' or '-' or '_') && (end == name.Length || name[end] is '.' or '-'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Memory of <paramref name="numGpus"/> GPUs of a catalogue type ("A100-80GB": 80 GiB each); null when unknown.</summary>
    public static long? GpuMemoryBytes(string gpu, int numGpus)
    {
        var m = GpuMemory().Match(gpu ?? "");
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * numGpus * (1L << 30) : null;
    }

    static string List(IEnumerable<RepoFile> files, int max)
    {
        var all = files.ToList();
        var shown = string.Join(", ", all.Take(max).Select(f => $"{f.Path} ({Size(f.Size)})"));
        return all.Count > max ? $"{shown}, and {all.Count - max} more" : shown.Length == 0 ? "none" : shown;
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes} B",
    };

    public static string? Unprotect(IDataProtectionProvider protection, string? tokenProtected) =>
        tokenProtected is null ? null : protection.CreateProtector(SecretPurposes.HfToken).Unprotect(tokenProtected);

    [GeneratedRegex(@"-\d{5}-of-\d{5}\.gguf$", RegexOptions.IgnoreCase)]
    private static partial Regex SplitPart();

    [GeneratedRegex(@"-(\d+)GB$")]
    private static partial Regex GpuMemory();
}
