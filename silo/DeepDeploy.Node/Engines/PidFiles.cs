using System.Diagnostics;

namespace DeepDeploy.Node.Engines;

/// <summary>One file per running engine (run/&lt;instance&gt;.pid). Engines outlive a crashed silo on Linux,
/// so at start every engine still listed is an orphan and is killed: the built-in worker and external engines
/// alike, each recognised by the instance id in its environment (<see cref="EngineEnvironment.InstanceVariable"/>).</summary>
public sealed class PidFiles(string directory)
{
    public void Write(string instanceId, int pid)
    {
        Directory.CreateDirectory(directory);
        // Owner-only: engines running as other users have no business with the node's pid files.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new StreamWriter(PathOf(instanceId), options);
        file.Write(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>No file (an instance that ended before its engine started, on a node that never started one) is fine.</summary>
    public void Delete(string instanceId)
    {
        if (Directory.Exists(directory))
        {
            File.Delete(PathOf(instanceId));
        }
    }

    /// <summary>Kills every listed engine that still runs and returns how many it killed.</summary>
    public int KillOrphans()
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        var killed = 0;
        foreach (var file in Directory.GetFiles(directory, "*.pid"))
        {
            var instanceId = Path.GetFileNameWithoutExtension(file);
            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid) && IsEngine(pid, instanceId))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(TimeSpan.FromSeconds(5));
                    killed++;
                }
                catch (ArgumentException)
                {
                    // Exited in the meantime.
                }
            }

            File.Delete(file);
        }

        return killed;
    }

    /// <summary>Guards against a recycled pid: only a process whose environment names the instance is ours.</summary>
    static bool IsEngine(int pid, string instanceId)
    {
        try
        {
            var marker = $"{EngineEnvironment.InstanceVariable}={instanceId}";
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains(marker, StringComparer.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    string PathOf(string instanceId) => Path.Combine(directory, instanceId + ".pid");
}
