using System.Globalization;
using System.Text;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>Expands an <see cref="EngineProfile"/>'s templates for one instance.</summary>
public static class EngineCommand
{
    /// <summary>The values of the placeholders for one instance.</summary>
    public static Dictionary<string, string?> Values(InstanceLaunch launch, IReadOnlyList<int> gpus, string host, int port, string modelPath,
        string workerPath, string dotnetPath, string? apiKey = null) => new(StringComparer.Ordinal)
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
        ["api_key"] = apiKey,
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
