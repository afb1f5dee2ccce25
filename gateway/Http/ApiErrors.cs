using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Http;

/// <summary>Every API error has one shape: {"error": {"code", "message", "field"}}.</summary>
public static class ApiErrors
{
    public static IResult Result(int status, string code, string message, string? field = null) =>
        Results.Json(new ApiErrorBody(new ApiError(code, message, field)), statusCode: status);

    public static Task Write(HttpContext context, int status, string code, string message, string? field) =>
        Result(status, code, message, field).ExecuteAsync(context);
}
