using System.Globalization;
using System.Text;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Silo.Nodes;

/// <summary>
/// An external engine: any OpenAI-compatible server started from a command template. Example (vLLM):
/// <code>
/// "Engines": { "vllm": {
///   "Command": "vllm",
///   "Args": "serve {model_path} --host {host} --port {port} --tensor-parallel-size {tensor_parallel_size} --max-num-seqs {max_batch_size} --served-model-name {served_model_name} [--quantization {quantization}] {extra_args}",
///   "Formats": "safetensors", "HealthPath": "/health", "LoadMetrics": "vllm:num_requests_running,vllm:num_requests_waiting" } }
/// </code>
/// Placeholders: <c>{gpus}</c> (CUDA indices, "0,1"), <c>{num_gpus}</c>, <c>{tensor_parallel_size}</c> (= num_gpus),
/// <c>{port}</c> (picked by the node), <c>{host}</c>, <c>{max_batch_size}</c>, <c>{served_model_name}</c>,
/// <c>{model_path}</c> (the snapshot folder for safetensors, the file for GGUF), <c>{quantization}</c>,
/// <c>{instance_id}</c>, <c>{worker}</c> (our DeepDeploy.GpuWorker.dll), <c>{dotnet}</c> (the dotnet host), and
/// <c>{extra_args}</c>, a token of its own that becomes the deployment's <c>extra_args</c>, each one argument.
/// Arguments are split on spaces before substitution, so values never split or inject arguments. A group in
/// square brackets, <c>[--quantization {quantization}]</c>, is left out when a placeholder in it is empty.
/// </summary>
public sealed class EngineProfile
{
    /// <summary>The executable (templated), e.g. <c>vllm</c>, <c>/opt/llama.cpp/llama-server</c>.</summary>
    public string Command { get; set; } = "";

    /// <summary>The arguments template.</summary>
    public string Args { get; set; } = "";

    /// <summary>Weights formats it takes, comma-separated: <c>safetensors</c>, <c>gguf</c>.</summary>
    public string Formats { get; set; } = WeightsFormats.Safetensors;

    /// <summary>Answers 200 once the model is loaded (vLLM and llama-server: <c>/health</c>).</summary>
    public string HealthPath { get; set; } = "/health";

    /// <summary>Prometheus text endpoint the load is read from.</summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>Metrics summed into the engine's load, comma-separated (vLLM: <c>vllm:num_requests_running,vllm:num_requests_waiting</c>;
    /// llama-server: <c>llamacpp:requests_processing,llamacpp:requests_deferred</c>).</summary>
    public string LoadMetrics { get; set; } = "";

    /// <summary>Extra environment variables for the process (values templated).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    public bool Takes(string format) => Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Contains(format, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> LoadMetricNames => LoadMetrics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Expands an <see cref="EngineProfile"/>'s templates for one instance.</summary>
public static class EngineCommand
{
    /// <summary>The values of the placeholders for one instance.</summary>
    public static Dictionary<string, string?> Values(InstanceLaunch launch, IReadOnlyList<int> gpus, string host, int port, string modelPath,
        string workerPath, string dotnetPath) => new(StringComparer.Ordinal)
    {
        ["gpus"] = string.Join(',', gpus),
        ["num_gpus"] = launch.NumGpus.ToString(CultureInfo.InvariantCulture),
        ["tensor_parallel_size"] = launch.NumGpus.ToString(CultureInfo.InvariantCulture),
        ["port"] = port.ToString(CultureInfo.InvariantCulture),
        ["host"] = host,
        ["max_batch_size"] = launch.MaxBatchSize.ToString(CultureInfo.InvariantCulture),
        ["served_model_name"] = launch.ModelName,
        ["model_path"] = modelPath,
        ["quantization"] = launch.Quantization,
        ["instance_id"] = launch.InstanceId,
        ["worker"] = workerPath,
        ["dotnet"] = dotnetPath,
    };

    /// <summary>The argument list: tokens split on whitespace, placeholders filled, <c>{extra_args}</c> spliced, empty groups dropped.</summary>
    public static IReadOnlyList<string> Arguments(string template, IReadOnlyDictionary<string, string?> values, IReadOnlyList<string> extraArgs)
    {
        var result = new List<string>();
        List<string>? group = null;
        var groupEmpty = false;
        foreach (var raw in template.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var token = raw;
            var opens = group is null && token.StartsWith('[');
            if (opens)
            {
                group = [];
                groupEmpty = false;
                token = token[1..];
            }

            var closes = group is not null && token.EndsWith(']');
            if (closes)
            {
                token = token[..^1];
            }

            var target = group ?? result;
            if (token == "{extra_args}")
            {
                target.AddRange(extraArgs);
                groupEmpty |= group is not null && extraArgs.Count == 0;
            }
            else if (token.Length > 0)
            {
                var (text, empty) = Fill(token, values);
                groupEmpty |= empty;
                target.Add(text);
            }

            if (closes)
            {
                if (!groupEmpty)
                {
                    result.AddRange(group!);
                }

                group = null;
            }
        }

        if (group is not null)
        {
            throw new FormatException($"engine args template has an unclosed '[': {template}");
        }

        return result;
    }

    /// <summary>Fills the placeholders of one string; <c>Empty</c> when one of them had no value.</summary>
    public static (string Text, bool Empty) Fill(string text, IReadOnlyDictionary<string, string?> values)
    {
        var sb = new StringBuilder();
        var empty = false;
        for (var i = 0; i < text.Length; i++)
        {
            var close = text[i] == '{' ? text.IndexOf('}', i) : -1;
            if (close > i && values.TryGetValue(text[(i + 1)..close], out var value))
            {
                empty |= string.IsNullOrEmpty(value);
                sb.Append(value);
                i = close;
            }
            else if (close > i)
            {
                throw new FormatException($"unknown placeholder {text[i..(close + 1)]} in engine template");
            }
            else
            {
                sb.Append(text[i]);
            }
        }

        return (sb.ToString(), empty);
    }

    /// <summary>Sums the named metrics in a Prometheus text page (all label sets); null when none is present.</summary>
    public static double? ReadLoad(string metricsText, IReadOnlyList<string> names)
    {
        double? sum = null;
        foreach (var line in metricsText.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny([' ', '{']);
            if (nameEnd <= 0 || !names.Contains(line[..nameEnd], StringComparer.Ordinal))
            {
                continue;
            }

            var valueStart = line[nameEnd] == '{' ? line.IndexOf('}', nameEnd) + 1 : nameEnd;
            var parts = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }
}
