namespace DeepDeploy.Tests.Support;

/// <summary>A fresh, empty directory under the temp directory that one test or fixture owns: it and everything in it
/// are deleted on dispose, so a test run leaves nothing in /tmp.</summary>
public sealed class TempDirectory : IDisposable
{
    const int DeleteAttempts = 3;

    TempDirectory(string path) => Path = path;

    public string Path { get; }

    public static TempDirectory Create(string prefix) => new(Directory.CreateTempSubdirectory(prefix).FullName);

    public void Dispose() => Delete(Path);

    /// <summary>Deletes <paramref name="path"/> with its contents. A process that has just been stopped (a worker, a
    /// silo) may still write a last file while the tree is removed, so a failure is retried; a directory that still
    /// cannot go is left rather than failing the test that used it.</summary>
    public static void Delete(string path)
    {
        for (var attempt = 1; attempt <= DeleteAttempts && Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (attempt == DeleteAttempts)
                {
                    Console.Error.WriteLine($"could not delete test directory {path}: {e.Message}");
                }
            }
        }
    }
}
