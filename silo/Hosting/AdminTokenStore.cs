using DeepDeploy.Gateway.Auth;

namespace DeepDeploy.Silo.Hosting;

/// <summary>The operator token: the configured one, else the one saved in the data directory, else a new
/// one saved there (readable by the owner only) and printed once.</summary>
public static class AdminTokenStore
{
    public static string LoadOrCreate(string dataDirectory, string? configured, TextWriter console)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured.Trim();
        }

        var path = Path.Combine(dataDirectory, "admin-token");
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        var token = TokenHasher.NewToken("dd-admin-");
        Directory.CreateDirectory(dataDirectory);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options))
        {
            writer.Write(token);
        }

        console.WriteLine($"DeepDeploy operator token (saved in {path}): {token}");
        return token;
    }
}
