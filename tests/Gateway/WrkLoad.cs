using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// wrk (Debian package "wrk"), a C load generator: the benchmark's closed loop uses it where it is installed, so
/// that the load generator costs little CPU next to the proxies it measures (an in-process .NET client costs
/// about as much as the proxies themselves on 2 cores).
/// </summary>
public static partial class WrkLoad
{
    public static string? Binary => new[] { "/usr/bin/wrk", "/usr/local/bin/wrk" }.FirstOrDefault(File.Exists);

    /// <summary>Runs wrk with one thread and <paramref name="connections"/> connections for
    /// <paramref name="duration"/>, POSTing <paramref name="body"/>; returns req/s, p50, p99 and max (ms), non-2xx and
    /// the requests completed.</summary>
    public static async Task<(double Rps, double P50, double P99, double Max, long Errors, long Requests)> RunAsync(Uri url, string body, int connections,
        TimeSpan duration, string? bearer)
    {
        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.body = [[{{body}}]]
            wrk.headers["Content-Type"] = "application/json"
            """);
        try
        {
            var start = new ProcessStartInfo(Binary!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "-t1", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "-s", script })
            {
                start.ArgumentList.Add(arg);
            }

            if (bearer is not null)
            {
                start.ArgumentList.Add("-H");
                start.ArgumentList.Add($"Authorization: Bearer {bearer}");
            }

            start.ArgumentList.Add(url.ToString());
            using var process = Process.Start(start)!;
            var text = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var rps = double.Parse(RpsLine().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
            var errors = NonSuccess().Match(text) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            errors += ErrorsLine().Match(text) is { Success: true } e ? e.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture)) : 0;
            var requests = long.Parse(RequestsLine().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
            return (rps, Percentile(text, "50%"), Percentile(text, "99%"), Milliseconds(MaxLatency().Match(text)), errors, requests);
        }
        finally
        {
            File.Delete(script);
        }
    }

    static double Percentile(string text, string label)
    {
        var match = Regex.Match(text, $@"^\s*{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        return Milliseconds(match);
    }

    static double Milliseconds(Match match)
    {
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    /// <summary>The thread stats line "Latency avg stdev max +/-stdev": the max.</summary>
    [GeneratedRegex(@"^\s*Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", RegexOptions.Multiline)]
    private static partial Regex MaxLatency();

    [GeneratedRegex(@"(\d+) requests in ")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex ErrorsLine();
}
