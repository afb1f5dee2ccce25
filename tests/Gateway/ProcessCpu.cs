using System.Globalization;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// CPU time a process has used (user + system, from <c>/proc/PID/stat</c>), for the gateway benchmark's CPU per
/// request: what a proxy spends on each request, which other load on a shared machine stretches far less than it
/// stretches req/s or latency. Linux only, as are wrk and nginx.
/// </summary>
public static class ProcessCpu
{
    /// <summary>USER_HZ: the unit of /proc's times, 100 on every Linux the benchmark runs on.</summary>
    const double TicksPerSecond = 100;

    /// <summary>Seconds of CPU <paramref name="pid"/> has used, and its children's too when
    /// <paramref name="withChildren"/> (nginx: its worker processes, found anew at each reading).</summary>
    public static double Seconds(int pid, bool withChildren = false)
    {
        var seconds = Read(pid) is { } own ? own.Seconds : 0;
        if (withChildren)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var child) && Read(child) is { } stat && stat.Parent == pid)
                {
                    seconds += stat.Seconds;
                }
            }
        }

        return seconds;
    }

    /// <summary>Fields after the command's closing parenthesis: state, ppid, ... utime (14th of the line), stime (15th).</summary>
    static (int Parent, double Seconds)? Read(int pid)
    {
        string line;
        try
        {
            line = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // gone meanwhile
        }

        var fields = line[(line.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (int.Parse(fields[1], CultureInfo.InvariantCulture), ticks / TicksPerSecond);
    }
}
