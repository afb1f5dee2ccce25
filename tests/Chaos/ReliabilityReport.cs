using System.Runtime.InteropServices;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// Where the suites' tables go besides the test output: with <c>DEEPDEPLOY_RELIABILITY_OUT</c> set (the
/// regenerate command, deploy/reliability/run.sh, sets it) each suite writes its table as a markdown file there,
/// headed by the date, the machine and the form it ran in; the script puts them into docs/reliability.md.
/// </summary>
public static class ReliabilityReport
{
    public const string Variable = "DEEPDEPLOY_RELIABILITY_OUT";

    public static void Write(string name, string form, string table)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } directory)
        {
            return;
        }

        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, name + ".md"), $"""
            Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine()}; {form}.

            {table}

            """);
    }

    /// <summary>CPU model and count, memory, OS: what a figure depends on.</summary>
    public static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0);
        return $"{cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} cores, {memory:0} GiB, {RuntimeInformation.OSDescription}";
    }
}
