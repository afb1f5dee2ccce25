using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Http;

/// <summary>
/// Renders every ProblemDetails the pipeline produces (the exception handler's, the framework's) in the API's one
/// documented error shape, so that clients see <c>{"error": {"code", "message", "field"}}</c> whatever failed.
/// </summary>
public sealed class ApiProblemWriter : IProblemDetailsWriter
{
    public const string CodeKey = "code";
    public const string FieldKey = "field";

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        var code = problem.Extensions.TryGetValue(CodeKey, out var c) && c is string given ? given : CodeOf(status);
        var field = problem.Extensions.TryGetValue(FieldKey, out var f) ? f as string : null;
        var message = problem.Detail ?? problem.Title ?? "The request failed.";
        return new ValueTask(ApiErrors.Write(context.HttpContext, status, code, message, field));
    }

    /// <summary>A code for answers the framework produced by itself (e.g. a method not allowed).</summary>
    static string CodeOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status413PayloadTooLarge => "body_too_large",
        >= 500 => "internal_error",
        _ => "error",
    };
}
