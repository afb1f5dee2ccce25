using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>The JSON of <c>POST /v1/me/tokens</c> and <c>POST /admin/users/{name}/tokens</c>.</summary>
public sealed record TokenBody(string? Name)
{
    /// <summary>The token's name, checked.</summary>
    public string Validate() =>
        TokenNames.Check(Name ?? throw new BadRequestException("name", "'name' is required.", "missing_field"), "name");
}
