using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Http;

/// <summary>Wires <see cref="ApiExceptionHandler"/> and <see cref="ApiProblemWriter"/>: whatever a handler throws and
/// whatever problem the framework reports reaches the client in the documented error shape. The host then calls
/// <c>UseExceptionHandler()</c>.</summary>
public static class ApiErrorHandling
{
    public static IServiceCollection AddApiErrorHandling(this IServiceCollection services)
    {
        // Ahead of AddProblemDetails, so that it is the writer chosen.
        services.AddSingleton<IProblemDetailsWriter, ApiProblemWriter>();
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        return services;
    }
}
