using System.Text.Json;
using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>A validated <c>POST /deploy/llm</c> body. Unknown fields are refused, so that a typo never
/// silently becomes a default.</summary>
public sealed partial record DeployRequest(
    string ModelName,
    string Gpu,
    int NumGpus,
    int MaxBatchSize,
    string HfRepo,
    string? HfRevision,
    string? HfToken,
    int MinInstances,
    int MaxInstances,
    IReadOnlyList<string> ExtraArgs,
    string? Quantization = null)
{
    public const int DefaultMaxBatchSize = 96;

    public static DeployRequest Parse(JsonElement body, string user)
    {
        JsonBody.RejectUnknown(body, "", "model_name", "gpu", "num_gpus", "max_batch_size", "hf", "settings", "extra_args", "quantization");

        var modelName = JsonBody.String(body, "model_name")
            ?? throw new BadRequestException("model_name", "'model_name' is required.", "missing_field");
        modelName = ShortName(modelName, user);

        var gpu = JsonBody.String(body, "gpu") ?? throw new BadRequestException("gpu", "'gpu' is required.", "missing_field");
        if (!GpuCatalog.IsKnown(gpu))
        {
            throw new BadRequestException("gpu", $"Unknown gpu '{gpu}'. Known: {string.Join(", ", GpuCatalog.Types)}.");
        }

        var numGpus = JsonBody.Int(body, "num_gpus") ?? 1;
        if (numGpus is < 1 or > 8)
        {
            throw new BadRequestException("num_gpus", "'num_gpus' must be between 1 and 8.");
        }

        var maxBatch = JsonBody.Int(body, "max_batch_size") ?? DefaultMaxBatchSize;
        if (maxBatch is < 1 or > 256)
        {
            throw new BadRequestException("max_batch_size", "'max_batch_size' must be between 1 and 256.");
        }

        var hf = JsonBody.Object(body, "hf") ?? throw new BadRequestException("hf", "'hf' is required: {\"repo\": \"owner/name\"}.", "missing_field");
        JsonBody.RejectUnknown(hf, "hf.", "repo", "revision", "token");
        var repo = JsonBody.String(hf, "repo", "hf.") ?? throw new BadRequestException("hf.repo", "'hf.repo' is required.", "missing_field");
        if (!RepoPattern().IsMatch(repo))
        {
            throw new BadRequestException("hf.repo", $"'hf.repo' must look like 'owner/name', got '{repo}'.");
        }

        var revision = JsonBody.String(hf, "revision", "hf.");
        if (revision is not null && !RevisionPattern().IsMatch(revision))
        {
            throw new BadRequestException("hf.revision", "'hf.revision' must be a branch, tag or commit name.");
        }

        var token = JsonBody.String(hf, "token", "hf.");

        var settings = JsonBody.Object(body, "settings");
        int min = 1, max = 1;
        if (settings is { } s)
        {
            JsonBody.RejectUnknown(s, "settings.", "min_instances", "max_instances");
            min = JsonBody.Int(s, "min_instances", "settings.") ?? 1;
            max = JsonBody.Int(s, "max_instances", "settings.") ?? Math.Max(1, min);
        }

        ValidateInstances(min, max);
        var extraArgs = JsonBody.StringArray(body, "extra_args") ?? [];
        if (extraArgs.Count > 64 || extraArgs.Any(a => a.Length > 1024))
        {
            throw new BadRequestException("extra_args", "'extra_args' holds at most 64 strings of at most 1024 characters.");
        }

        var quantization = JsonBody.String(body, "quantization");
        if (quantization is not null && !QuantizationPattern().IsMatch(quantization))
        {
            throw new BadRequestException("quantization",
                "'quantization' must be a quantization name (e.g. Q4_K_M, awq) or a file name in the repo: 1-200 of letters, digits, '.', '_', '-', '/'.");
        }

        return new DeployRequest(modelName, gpu, numGpus, maxBatch, repo, revision, token, min, max, extraArgs, quantization);
    }

    /// <summary>Fields fixed at creation; a PUT naming one is refused with a 400 that says so.</summary>
    public static readonly IReadOnlyList<string> ImmutableFields = ["model_name", "gpu", "num_gpus", "max_batch_size", "hf", "extra_args", "quantization"];

    /// <summary>Parses a PUT body: only <c>settings</c> may change; absent values keep their current value.</summary>
    public static (int Min, int Max) ParseSettingsUpdate(JsonElement body, int currentMin, int currentMax)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (ImmutableFields.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new BadRequestException(property.Name,
                    $"'{property.Name}' cannot change after creation; only 'settings' can. Create a new deployment instead.", "immutable_field");
            }
        }

        JsonBody.RejectUnknown(body, "", "settings");
        var settings = JsonBody.Object(body, "settings")
            ?? throw new BadRequestException("settings", "'settings' is required: {\"settings\": {\"min_instances\": n, \"max_instances\": m}}.", "missing_field");
        JsonBody.RejectUnknown(settings, "settings.", "min_instances", "max_instances");
        var min = JsonBody.Int(settings, "min_instances", "settings.") ?? currentMin;
        var max = JsonBody.Int(settings, "max_instances", "settings.") ?? currentMax;
        ValidateInstances(min, max);
        return (min, max);
    }

    static void ValidateInstances(int min, int max)
    {
        if (min < 0)
        {
            throw new BadRequestException("settings.min_instances", "'settings.min_instances' must be 0 or more.");
        }

        if (max < 1 || max < min)
        {
            throw new BadRequestException("settings.max_instances", "'settings.max_instances' must be at least 1 and at least min_instances.");
        }

        if (max > MaxInstancesLimit)
        {
            throw new BadRequestException("settings.max_instances", $"'settings.max_instances' must be at most {MaxInstancesLimit}.");
        }
    }

    public const int MaxInstancesLimit = 100;

    /// <summary>Accepts "name" or "user/name" for the caller's own user; refuses another user's prefix.</summary>
    static string ShortName(string modelName, string user)
    {
        var slash = modelName.IndexOf('/');
        if (slash >= 0)
        {
            if (modelName[..slash] != user)
            {
                throw new BadRequestException("model_name", $"'model_name' must be 'name' or '{user}/name'; '{modelName}' names another user.");
            }

            modelName = modelName[(slash + 1)..];
        }

        return NamePattern().IsMatch(modelName)
            ? modelName
            : throw new BadRequestException("model_name",
                "'model_name' must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit.");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepoPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")]
    private static partial Regex QuantizationPattern();
}
