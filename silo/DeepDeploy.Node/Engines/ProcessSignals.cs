using System.Runtime.InteropServices;

namespace DeepDeploy.Node.Engines;

/// <summary>SIGTERM for a graceful stop; .NET's Process only offers SIGKILL.</summary>
public static class ProcessSignals
{
    const int SigTerm = 15;

    public static void Terminate(int pid)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _ = Kill(pid, SigTerm);
    }

    // DllImport, not LibraryImport: two ints need no marshalling code and no unsafe blocks.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);
}
