using System.Text.RegularExpressions;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>The JSON of <c>POST /admin/users</c>.</summary>
public sealed partial record CreateUserBody(string? Name)
{
    /// <summary>The user name, checked.</summary>
    public string Validate()
    {
        var name = Name ?? throw new BadRequestException("name", "'name' is required.", "missing_field");
        return NamePattern().IsMatch(name) && name != Roles.OperatorName
            ? name
            : throw new BadRequestException("name",
                $"'name' must be 1-39 letters, digits or '-', starting with a letter or digit, and not '{Roles.OperatorName}'.");
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9-]{0,38}\z")]
    private static partial Regex NamePattern();
}
