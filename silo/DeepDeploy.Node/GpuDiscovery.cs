using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node;

/// <summary>Finds the host's GPUs with nvidia-smi, or builds the configured simulated set where there is none.</summary>
public static partial class GpuDiscovery
{
    public static NodeInfo Discover(NodeOptions options)
    {
        if (options.SimulatedGpus is null && TryRunNvidiaSmi(out var csv))
        {
            return new NodeInfo(options.Name, Simulated: false, ParseNvidiaSmi(csv));
        }

        return new NodeInfo(options.Name, Simulated: true, ParseSimulated(options.SimulatedGpus ?? NodeOptions.DefaultSimulatedGpus));
    }

    /// <summary>Parses "4xA100-80GB,4xH100-80GB" into GPUs indexed 0..n-1 in order.</summary>
    public static IReadOnlyList<GpuDevice> ParseSimulated(string spec)
    {
        var gpus = new List<GpuDevice>();
        foreach (var part in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var match = SimulatedPart().Match(part);
            if (!match.Success)
            {
                throw new FormatException($"Simulated GPUs must look like '4xA100-80GB,4xH100-80GB'; '{part}' does not.");
            }

            var count = int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture);
            var type = match.Groups["type"].Value;
            var memory = long.Parse(match.Groups["gb"].Value, CultureInfo.InvariantCulture) * 1024;
            for (var i = 0; i < count; i++)
            {
                gpus.Add(new GpuDevice(gpus.Count, type, memory));
            }
        }

        return gpus;
    }

    /// <summary>Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`.</summary>
    public static IReadOnlyList<GpuDevice> ParseNvidiaSmi(string csv)
    {
        var gpus = new List<GpuDevice>();
        foreach (var line in csv.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length < 3 || !int.TryParse(fields[0], CultureInfo.InvariantCulture, out var index)
                || !long.TryParse(fields[2], CultureInfo.InvariantCulture, out var memoryMiB))
            {
                throw new FormatException($"Unexpected nvidia-smi line: '{line}'.");
            }

            gpus.Add(new GpuDevice(index, TypeOf(fields[1], memoryMiB), memoryMiB));
        }

        return gpus;
    }

    /// <summary>Maps a driver name like "NVIDIA H100 80GB HBM3" to a catalogue type like "H100-80GB".</summary>
    public static string TypeOf(string name, long memoryMiB)
    {
        var gb = (int)Math.Round(memoryMiB / 1024.0);
        string[] families = ["B200", "H200", "H100", "A100", "L40S", "L4"];
        var family = families.FirstOrDefault(f => Regex.IsMatch(name, $@"\b{f}\b", RegexOptions.IgnoreCase));
        return family switch
        {
            "B200" => "B200-180GB",
            "H200" => "H200-141GB",
            "H100" => "H100-80GB",
            "A100" => gb > 60 ? "A100-80GB" : "A100-40GB",
            "L40S" => "L40S-48GB",
            "L4" => "L4-24GB",
            _ => $"{NonWord().Replace(name.Replace("NVIDIA", "", StringComparison.OrdinalIgnoreCase).Trim(), "-")}-{gb}GB",
        };
    }

    static bool TryRunNvidiaSmi(out string csv)
    {
        csv = "";
        try
        {
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=index,name,memory.total --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            csv = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 && csv.Trim().Length > 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no nvidia-smi on PATH
        }
    }

    [GeneratedRegex(@"^(?<count>\d+)\s*x\s*(?<type>[A-Za-z0-9]+-(?<gb>\d+)GB)$")]
    private static partial Regex SimulatedPart();

    [GeneratedRegex(@"[^A-Za-z0-9]+")]
    private static partial Regex NonWord();
}
