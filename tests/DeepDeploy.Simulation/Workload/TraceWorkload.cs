using System.Globalization;

namespace DeepDeploy.Simulation.Workload;

/// <summary>
/// A recorded workload in CSV: a header line <c>timestamp,model,prompt_tokens,output_tokens</c>, then one request
/// per line. <c>timestamp</c> is seconds (decimal) from the trace's start, or an ISO 8601 time (made relative to
/// the earliest); <c>model</c> names a deployment of the run by its model name (the part after "user/", or the
/// whole "user/name"). Lines need not be sorted. A bad line is refused with its number.
/// </summary>
public static class TraceWorkload
{
    public const string Header = "timestamp,model,prompt_tokens,output_tokens";

    public static IReadOnlyList<(double At, string Model, int PromptTokens, int OutputTokens)> Read(string path)
    {
        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (!string.Equals(header?.Trim(), Header, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{path}:1: the header must be '{Header}'");
        }

        var rows = new List<(string Time, string Model, int Prompt, int Output, int Line)>();
        var number = 1;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length != 4
                || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var prompt)
                || !int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var output)
                || fields[1].Trim().Length == 0 || prompt < 1 || output < 1)
            {
                throw new InvalidDataException($"{path}:{number}: expected 'timestamp,model,prompt_tokens,output_tokens' with positive token counts");
            }

            rows.Add((fields[0].Trim(), fields[1].Trim(), prompt, output, number));
        }

        var times = rows.Select(r => ParseTime(path, r.Time, r.Line)).ToArray();
        var origin = times.Length == 0 ? 0 : times.Min();
        return rows.Select((r, i) => (times[i] - origin, r.Model, r.Prompt, r.Output)).OrderBy(r => r.Item1).ToArray();
    }

    /// <summary>The requests for the run's deployments; a trace model that names none is refused.</summary>
    public static IReadOnlyList<WorkloadRequest> Bind(IReadOnlyList<(double At, string Model, int PromptTokens, int OutputTokens)> trace, IReadOnlyCollection<string> models)
    {
        var byName = models.ToDictionary(m => m[(m.IndexOf('/') + 1)..], StringComparer.Ordinal);
        return trace.Select(r => new WorkloadRequest(r.At,
            models.Contains(r.Model) ? r.Model : byName.TryGetValue(r.Model, out var full) ? full
                : throw new InvalidDataException($"trace model '{r.Model}' is none of the run's deployments"),
            r.PromptTokens, r.OutputTokens)).ToArray();
    }

    static double ParseTime(string path, string value, int line) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 ? seconds
        : DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time.ToUnixTimeMilliseconds() / 1000.0
        : throw new InvalidDataException($"{path}:{line}: timestamp '{value}' is neither seconds nor an ISO 8601 time");
}
