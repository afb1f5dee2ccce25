namespace DeepDeploy.Gateway.Http;

/// <summary>Input that fails validation; the API turns it into a 400 naming the field.</summary>
public sealed class BadRequestException(string field, string message, string code = "invalid_field") : Exception(message)
{
    public string Field { get; } = field;

    public string Code { get; } = code;
}
