namespace DeepDeploy.GpuWorker.Api;

/// <summary>Carries an <see cref="ApiError"/> out of request validation.</summary>
public sealed class ApiException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}
