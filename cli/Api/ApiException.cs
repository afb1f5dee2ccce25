namespace DeepDeploy.Cli.Api;

/// <summary>A failed call, with the API's own message and the exit code it maps to.</summary>
public sealed class ApiException(int exitCode, string message, string? code = null, string? field = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public string? Code { get; } = code;

    public string? Field { get; } = field;
}
