using System.Globalization;

namespace DeepDeploy.Gateway.Http;

/// <summary>Strict readers of query-string values: ASCII digits only (no signs, spaces, trailing newlines or
/// other scripts' digits, which the framework's binders accept), so a value means one thing everywhere.</summary>
public static class QueryValues
{
    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public static int? Integer(string? text, string field, int min, int max)
    {
        if (text is null)
        {
            return null;
        }

        var message = $"'{field}' must be a whole number between {min} and {max}.";
        if (text.Length is 0 or > 9 || !text.All(char.IsAsciiDigit))
        {
            throw new BadRequestException(field, message);
        }

        var value = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return value >= min && value <= max ? value : throw new BadRequestException(field, message);
    }
}
