using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The JSON of <c>POST /deploy/llm</c>, as bound (see <see cref="RequestJsonContext"/>) and as the OpenAPI
/// document shows it; <see cref="Validate"/> turns it into a <see cref="DeployRequest"/>. <c>quantization</c>: for GGUF
/// repos a quantization name (e.g. <c>Q4_K_M</c>) or a file name; default the largest GGUF that fits the instance's GPU
/// memory. For safetensors repos it is passed to the external engine (e.g. vLLM's <c>--quantization awq</c>).</summary>
public sealed partial record DeployBody(
    string? ModelName,
    string? Gpu,
    int? NumGpus,
    int? MaxBatchSize,
    HfWeights? Hf,
    InstanceSettings? Settings,
    IReadOnlyList<string>? ExtraArgs,
    string? Quantization = null)
{
    public const int DefaultMaxBatchSize = 96;

    /// <summary>Checks every rule on the values, for <paramref name="user"/>; throws a <see cref="BadRequestException"/>
    /// naming the first field at fault.</summary>
    public DeployRequest Validate(string user)
    {
        var modelName = ShortName(ModelName ?? throw new BadRequestException("model_name", "'model_name' is required.", "missing_field"), user);

        var gpu = Gpu ?? throw new BadRequestException("gpu", "'gpu' is required.", "missing_field");
        if (!GpuCatalog.IsKnown(gpu))
        {
            throw new BadRequestException("gpu", $"Unknown gpu '{gpu}'. Known: {string.Join(", ", GpuCatalog.Types)}.");
        }

        var numGpus = NumGpus ?? 1;
        if (numGpus is < 1 or > 8)
        {
            throw new BadRequestException("num_gpus", "'num_gpus' must be between 1 and 8.");
        }

        var maxBatch = MaxBatchSize ?? DefaultMaxBatchSize;
        if (maxBatch is < 1 or > 256)
        {
            throw new BadRequestException("max_batch_size", "'max_batch_size' must be between 1 and 256.");
        }

        var hf = Hf ?? throw new BadRequestException("hf", "'hf' is required: {\"repo\": \"owner/name\"}.", "missing_field");
        hf.Validate();

        var min = Settings?.MinInstances ?? 1;
        var max = Settings?.MaxInstances ?? Math.Max(1, min);
        InstanceSettings.Validate(min, max);

        var extraArgs = ExtraArgs ?? [];
        if (extraArgs.Count > 64 || extraArgs.Any(a => a is null || a.Length > 1024))
        {
            throw new BadRequestException("extra_args", "'extra_args' holds at most 64 strings of at most 1024 characters.");
        }

        if (Quantization is not null && !QuantizationPattern().IsMatch(Quantization))
        {
            throw new BadRequestException("quantization",
                "'quantization' must be a quantization name (e.g. Q4_K_M, awq) or a file name in the repo: 1-200 of letters, digits, '.', '_', '-', '/'.");
        }

        return new DeployRequest(modelName, gpu, numGpus, maxBatch, hf.Repo!, hf.Revision, hf.Token, min, max, extraArgs, Quantization);
    }

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

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}\z")]
    private static partial Regex QuantizationPattern();
}
