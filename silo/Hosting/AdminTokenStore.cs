using DeepDeploy.Gateway.Auth;

namespace DeepDeploy.Silo.Hosting;

/// <summary>The operator token: the configured one, else the one saved in the data directory, else a new
/// one saved there (readable by the owner only) and printed once. A short one refuses to start: the operator
/// token opens every tenant's data, and guessing is throttled only per source address.</summary>
public static class AdminTokenStore
{
    public const int MinLength = 32;

    public static string LoadOrCreate(string dataDirectory, string? configured, TextWriter console)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Checked(configured.Trim(), "DEEPDEPLOY_ADMIN_TOKEN");
        }

        var path = Path.Combine(dataDirectory, "admin-token");
        if (File.Exists(path))
        {
            return Checked(File.ReadAllText(path).Trim(), $"The operator token saved in {path}");
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

    static string Checked(string token, string source) =>
        token.Length >= MinLength
            ? token
            : throw new ConfigurationException(
                $"{source} is {token.Length} characters long; it must be at least {MinLength}. "
                + "Use a random secret, e.g. the output of 'openssl rand -hex 24'.");
}
