using System.Runtime.InteropServices;

namespace DeepDeploy.Node.Engines;

/// <summary>The file calls .NET does not offer: ownership and hard links.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class UnixFiles
{
    const int CrossDevice = 18;

    public static void Chown(string path, EngineUser user) =>
        Check(NativeChown(path, user.Uid, user.Gid), $"chown {user.Uid}:{user.Gid} {path}");

    /// <summary>A second name for <paramref name="target"/>'s inode: whoever reaches the link reads the file without
    /// any access to the folder the file came from.</summary>
    public static void HardLink(string target, string link)
    {
        if (NativeLink(target, link) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno == CrossDevice
                ? $"cannot link {target} into the engine's directory: the model cache and the engines' directories must be on one filesystem"
                : $"link {target} {link}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [DllImport("libc", EntryPoint = "chown", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    static extern int NativeChown(string path, int owner, int group);

    [DllImport("libc", EntryPoint = "link", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    static extern int NativeLink(string target, string link);
}
