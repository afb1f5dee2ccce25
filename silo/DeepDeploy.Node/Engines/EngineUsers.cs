using System.Diagnostics;
using System.Globalization;

namespace DeepDeploy.Node.Engines;

/// <summary>Hands each live engine instance a uid of its own from the configured range, so that tenants' engines
/// cannot signal, ptrace or read each other. A uid is held through a lock file (host-wide, released by the kernel
/// when the node dies); whatever still runs as a uid no node holds is left from a dead run and is killed before
/// the uid is handed out again.</summary>
public sealed class EngineUsers(EngineUserOptions options)
{
    readonly Dictionary<int, FileStream> _held = [];

    /// <summary>Whether engines run as users of their own: configured, else when the node runs as root.</summary>
    public bool Enabled { get; } = options.Enabled ?? Environment.IsPrivilegedProcess;

    public EngineUserOptions Options => options;

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public EngineUser Acquire()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "DeepDeploy:Node:EngineUsers:Enabled is true but the node does not run as root: it cannot start engines as other users");
        }

        lock (_held)
        {
            for (var uid = options.First; uid <= options.Last; uid++)
            {
                if (!_held.ContainsKey(uid) && TryLock(uid) is { } held)
                {
                    KillProcessesOf(uid);
                    _held[uid] = held;
                    return new EngineUser(uid, uid);
                }
            }
        }

        throw new InvalidOperationException($"every engine uid from {options.First} to {options.Last} is in use (DeepDeploy:Node:EngineUsers)");
    }

    /// <summary>Kills whatever still runs as the user (a daemon the engine left behind) and frees the uid.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Release(EngineUser user)
    {
        KillProcessesOf(user.Uid);
        lock (_held)
        {
            if (_held.Remove(user.Uid, out var held))
            {
                held.Dispose();
            }
        }
    }

    /// <summary>At node start: kills the processes of every uid of the range that no live node holds. Returns how many.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public int KillOrphans()
    {
        if (!Enabled)
        {
            return 0;
        }

        var killed = 0;
        foreach (var uid in Processes().Select(p => p.Uid).Where(InRange).Distinct())
        {
            lock (_held)
            {
                if (!_held.ContainsKey(uid) && TryLock(uid) is { } held)
                {
                    using (held)
                    {
                        killed += KillProcessesOf(uid);
                    }
                }
            }
        }

        return killed;
    }

    bool InRange(int uid) => uid >= options.First && uid <= options.Last;

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    FileStream? TryLock(int uid)
    {
        Directory.CreateDirectory(options.LockDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            // FileShare.None is an exclusive flock on Unix: another node's hold makes this throw.
            return new FileStream(Path.Combine(options.LockDirectory, uid.ToString(CultureInfo.InvariantCulture) + ".lock"),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    static int KillProcessesOf(int uid)
    {
        var killed = 0;
        foreach (var (pid, _) in Processes().Where(p => p.Uid == uid))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(TimeSpan.FromSeconds(5));
                killed++;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Exited in the meantime.
            }
        }

        return killed;
    }

    /// <summary>Every process of the host with its real uid (from /proc/&lt;pid&gt;/status).</summary>
    static IEnumerable<(int Pid, int Uid)> Processes()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && RealUid(directory) is { } uid)
            {
                yield return (pid, uid);
            }
        }
    }

    static int? RealUid(string procDirectory)
    {
        try
        {
            var line = File.ReadLines(Path.Combine(procDirectory, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            var fields = line?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 1 } && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
