namespace DeepDeploy.Node.Weights;

/// <summary>What a repo id, a file path in a repo and a hash from the hub may look like: a caller's input and a hub's
/// answer are checked alike before they name a URL or a file on disk.</summary>
internal static class RepoPaths
{
    /// <summary>The owner and name of an <c>owner/name</c> repo id.</summary>
    /// <exception cref="ArgumentException">It is not one.</exception>
    public static (string Owner, string Name) Split(string repo)
    {
        var parts = (repo ?? "").Split('/');
        if (parts.Length != 2 || !IsValidRepoPart(parts[0]) || !IsValidRepoPart(parts[1]))
        {
            throw new ArgumentException($"'{repo}' is not a valid repo id (expected owner/name)", nameof(repo));
        }

        return (parts[0], parts[1]);
    }

    /// <summary>A relative path that stays inside the folder it is joined to.</summary>
    public static bool IsSafeRelative(string? path) =>
        !string.IsNullOrEmpty(path) && !path.Contains('\\') && !path.Contains('\0') && !Path.IsPathRooted(path)
        && path.Split('/').All(s => s.Length > 0 && s != "." && s != "..");

    public static bool IsHex(string value, int length) => value.Length == length && value.All(char.IsAsciiHexDigit);

    static bool IsValidRepoPart(string part) =>
        part.Length is > 0 and <= 96 && part[0] != '.' && part[0] != '-'
        && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
