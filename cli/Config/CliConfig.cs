using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepDeploy.Cli.Config;

/// <summary>~/.deepdeploy/config: the host and the token <c>auth login</c> saved, readable by its owner only.</summary>
public sealed record CliConfig(
    [property: JsonPropertyName("host")] string? Host,
    [property: JsonPropertyName("token")] string? Token)
{
    const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string Directory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".deepdeploy");

    public static string FilePath => Path.Combine(Directory, "config");

    public static CliConfig Load()
    {
        if (!File.Exists(FilePath))
        {
            return new CliConfig(null, null);
        }

        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(FilePath)) ?? new CliConfig(null, null);
        }
        catch (JsonException e)
        {
            throw new Api.ApiException(ExitCodes.Usage, $"{FilePath} is not valid JSON ({e.Message}); fix it or run `deepctl auth logout`");
        }
    }

    /// <summary>Writes the file with mode 0600 (its directory 0700) before the token is in it, so it is never readable by others.</summary>
    public void Save()
    {
        var unix = !OperatingSystem.IsWindows();
        if (unix)
        {
            System.IO.Directory.CreateDirectory(Directory, OwnerOnlyDirectory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory);
        }

        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (unix)
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using (var stream = new FileStream(FilePath, options))
        {
            if (unix)
            {
                // An existing file keeps its mode on open: tighten it before writing the token.
                File.SetUnixFileMode(stream.SafeFileHandle, OwnerOnly);
            }

            JsonSerializer.Serialize(stream, this, Json);
        }
    }
}
