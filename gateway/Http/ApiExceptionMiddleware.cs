using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Http;

/// <summary>Turns invalid input into a 4xx naming the field, so bad input never surfaces as a 500.</summary>
public sealed class ApiExceptionMiddleware(RequestDelegate next)
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
    }
}
