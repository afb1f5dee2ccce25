using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Gateway.Http;

/// <summary>Turns invalid input into a 4xx naming the field, so bad input never surfaces as a 500.</summary>
public sealed class ApiExceptionMiddleware(RequestDelegate next, ILogger<ApiExceptionMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadRequestException e) when (!context.Response.HasStarted)
        {
            var status = e.Code == "body_too_large" ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
            await ApiErrors.Write(context, status, e.Code, e.Message, e.Field);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            await ApiErrors.Write(context, e.StatusCode, "bad_request", e.Message, "body");
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested
                                  && e is OrleansException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // The cluster is reachable again after a silo loss is detected: a retry is the right answer, not a 500.
            logger.LogWarning(e, "Cluster unavailable for {Path}", context.Request.Path);
            context.Response.Headers.RetryAfter = "5";
            await ApiErrors.Write(context, StatusCodes.Status503ServiceUnavailable, "cluster_unavailable",
                "The cluster could not answer right now (a silo may have just failed). Retry shortly.", null);
        }
    }
}
