using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Gateway.Http;

/// <summary>
/// Maps what a handler throws to an API error: invalid input to a 4xx naming the field (bad input never surfaces
/// as a 500), storage or a cluster that cannot answer to a 503 the client may retry, and anything else to a logged 500 that
/// carries a correlation id and none of the internals.
/// </summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        switch (exception)
        {
            case BadRequestException e:
                problem = Problem(e.Code == "body_too_large" ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest,
                    e.Code, e.Message, e.Field);
                break;
            case BadHttpRequestException e:
                problem = Problem(e.StatusCode, "bad_request", e.Message, "body");
                break;
            case var e when StorageFailure.Is(e) && !context.RequestAborted.IsCancellationRequested:
                // Nothing was changed: the grain put its state back. The same request succeeds once storage is back.
                log.LogWarning(exception, "Storage unavailable for {Path}", context.Request.Path);
                context.Response.Headers.RetryAfter = "5";
                problem = Problem(StatusCodes.Status503ServiceUnavailable, "storage_unavailable",
                    "The cluster's storage is unavailable right now; nothing was changed. Retry shortly.", null);
                break;
            case OrleansException or TimeoutException or SocketException when !context.RequestAborted.IsCancellationRequested:
                // The cluster is reachable again after a silo loss is detected: a retry is the right answer, not a 500.
                log.LogWarning(exception, "Cluster unavailable for {Path}", context.Request.Path);
                context.Response.Headers.RetryAfter = "5";
                problem = Problem(StatusCodes.Status503ServiceUnavailable, "cluster_unavailable",
                    "The cluster could not answer right now (a silo may have just failed). Retry shortly.", null);
                break;
            default:
                var correlationId = Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
                log.LogError(exception, "Unhandled error for {Method} {Path}, correlation id {CorrelationId}",
                    context.Request.Method, context.Request.Path, correlationId);
                problem = Problem(StatusCodes.Status500InternalServerError, "internal_error",
                    $"Something went wrong on our side. Quote correlation id {correlationId} when reporting it.", null);
                break;
        }

        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    static ProblemDetails Problem(int status, string code, string message, string? field) => new()
    {
        Status = status,
        Detail = message,
        Extensions = { [ApiProblemWriter.CodeKey] = code, [ApiProblemWriter.FieldKey] = field },
    };
}
