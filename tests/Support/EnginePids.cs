using System.Diagnostics;

namespace DeepDeploy.Tests.Support;

/// <summary>The engine processes a GPU node started, read from its pid files (DATA/nodes/&lt;node&gt;/run/*.pid), and
/// whether such a process still runs: how tests see orphans and restarts from outside the node.</summary>
public static class EnginePids
{
    public static IEnumerable<string> Files(string dataDir)
    {
        var nodes = Path.Combine(dataDir, "nodes");
        return Directory.Exists(nodes)
            ? Directory.GetDirectories(nodes).Select(n => Path.Combine(n, "run")).Where(Directory.Exists).SelectMany(r => Directory.GetFiles(r, "*.pid"))
            : [];
    }

    public static int[] Under(string dataDir) => Files(dataDir).Select(f => int.Parse(File.ReadAllText(f).Trim())).Order().ToArray();

    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>SIGKILLs an engine process; one that already ended is not an error (an engine may die with its host
    /// before the test reaches it).</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
        }
    }
}
