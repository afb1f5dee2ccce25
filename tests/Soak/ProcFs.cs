using System.Globalization;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// What Linux's /proc says about a process: resident memory and threads (<c>status</c>), open file descriptors
/// (<c>fd</c>), and its TCP sockets matched by inode against <c>net/tcp</c> and <c>net/tcp6</c> (established
/// connections, listening ports). Read as root, so other users' processes (engines) are readable too.
/// </summary>
public static class ProcFs
{
    const string Established = "01";
    const string Listen = "0A";

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    /// <summary>VmRSS in bytes and the thread count, or null when the process is gone.</summary>
    public static (long RssBytes, int Threads)? Status(int pid)
    {
        try
        {
            long rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            return (rss, threads);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static int OpenFds(int pid) => SafeLinks(pid).Count;

    /// <summary>Established TCP connections of the process (IPv4 and IPv6).</summary>
    public static int EstablishedTcp(int pid) => Sockets(pid, Established).Count;

    /// <summary>Ports the process listens on.</summary>
    public static List<int> ListeningPorts(int pid) => Sockets(pid, Listen);

    static List<int> Sockets(int pid, string state)
    {
        var inodes = SafeLinks(pid)
            .Where(l => l.StartsWith("socket:[", StringComparison.Ordinal))
            .Select(l => l["socket:[".Length..^1])
            .ToHashSet(StringComparer.Ordinal);
        var ports = new List<int>();
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            IEnumerable<string> lines;
            try
            {
                lines = File.ReadLines($"/proc/{pid}/net/{table}").Skip(1).ToList();
            }
            catch (IOException)
            {
                continue;
            }

            foreach (var line in lines)
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9 && f[3] == state && inodes.Contains(f[9]))
                {
                    ports.Add(int.Parse(f[1][(f[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
        }

        return ports;
    }

    static List<string> SafeLinks(int pid)
    {
        var links = new List<string>();
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target)
                    {
                        links.Add(target);
                    }
                }
                catch (IOException)
                {
                    // closed while listing
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the process is gone
        }

        return links;
    }

    static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }
}
