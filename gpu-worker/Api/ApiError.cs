namespace DeepDeploy.GpuWorker.Api;

/// <summary>An OpenAI-style error: <c>{"error":{"message","type","param","code"}}</c> with an HTTP status.</summary>
public sealed record ApiError(int Status, string Message, string Type = "invalid_request_error", string? Param = null, string? Code = null)
{
    public static ApiError Invalid(string param, string message) => new(400, message, Param: param);
}
