using System.Text.RegularExpressions;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>Names of tokens and users as they arrive in bodies and paths: ASCII only, and \z rather than $ so that
/// a trailing newline is refused.</summary>
public static partial class TokenNames
{
    public static string Check(string value, string field) =>
        NamePattern().IsMatch(value)
            ? value
            : throw new BadRequestException(field, $"'{field}' must be 1-39 ASCII letters, digits or '-', starting with a letter or digit.");

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9-]{0,38}\z")]
    private static partial Regex NamePattern();
}
