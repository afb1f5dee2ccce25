using System.Text.RegularExpressions;

namespace DeepDeploy.Node.Weights;

/// <summary>Repo id patterns such as <c>myorg/*</c>: <c>*</c> stands for any characters within one part (never '/'),
/// everything else is literal; case-insensitive, as the Hub treats repo ids.</summary>
public sealed class RepoGlobs
{
    readonly Regex[] _patterns;

    RepoGlobs(IEnumerable<string> globs) =>
        _patterns = globs.Select(g => new Regex("^" + Regex.Escape(g).Replace(@"\*", "[^/]*", StringComparison.Ordinal) + @"\z",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)).ToArray();

    public static RepoGlobs None { get; } = new([]);

    /// <summary>Globs separated by commas or white space; null or blank: none.</summary>
    public static RepoGlobs Parse(string? globs) =>
        new((globs ?? "").Split([',', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public bool Matches(string repo) => _patterns.Any(p => p.IsMatch(repo));
}
