using System.Globalization;
using System.Text.Json;

namespace DeepDeploy.Gateway.WebConsole.Components.Shared;

/// <summary>The create form as posted (all text, so nothing is lost in binding) and its JSON for
/// <c>POST /deploy/llm</c>. Only the shape is checked here (a number field holds a number); every rule is the API's.</summary>
public sealed class CreateForm
{
    public string? ModelName { get; set; }
    public string? HfRepo { get; set; }
    public string? HfRevision { get; set; }
    public string? HfToken { get; set; }
    public string? Gpu { get; set; }
    public string? NumGpus { get; set; } = "1";
    public string? MaxBatchSize { get; set; } = "96";
    public string? Quantization { get; set; }
    public string? MinInstances { get; set; } = "1";
    public string? MaxInstances { get; set; } = "1";
    public string? ExtraArgs { get; set; }

    /// <summary>Set when <see cref="ToBody"/> refuses: an error in the API's shape, naming the field.</summary>
    public ApiAnswer? Invalid { get; private set; }

    public Dictionary<string, object?>? ToBody()
    {
        var body = new Dictionary<string, object?>
        {
            ["model_name"] = ModelName?.Trim(),
            ["gpu"] = Blank(Gpu),
        };
        if (!Number(NumGpus, "num_gpus", body) || !Number(MaxBatchSize, "max_batch_size", body))
        {
            return null;
        }

        var hf = new Dictionary<string, object?> { ["repo"] = HfRepo?.Trim() };
        if (Blank(HfRevision) is { } revision)
        {
            hf["revision"] = revision;
        }

        if (Blank(HfToken) is { } token)
        {
            hf["token"] = token;
        }

        body["hf"] = hf;
        var settings = new Dictionary<string, object?>();
        if (!Number(MinInstances, "settings.min_instances", settings, "min_instances")
            || !Number(MaxInstances, "settings.max_instances", settings, "max_instances"))
        {
            return null;
        }

        body["settings"] = settings;
        if (Blank(Quantization) is { } quantization)
        {
            body["quantization"] = quantization;
        }

        var args = (ExtraArgs ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (args.Length > 0)
        {
            body["extra_args"] = args;
        }

        return body;
    }

    static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    bool Number(string? text, string field, Dictionary<string, object?> into, string? key = null)
    {
        if (Blank(text) is not { } value)
        {
            return true;
        }

        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            Invalid = Error(field, $"'{field}' must be a whole number.");
            return false;
        }

        into[key ?? field] = number;
        return true;
    }

    static ApiAnswer Error(string field, string message) => new(400,
        JsonSerializer.SerializeToElement(new { error = new { code = "invalid_field", message, field } }));
}
