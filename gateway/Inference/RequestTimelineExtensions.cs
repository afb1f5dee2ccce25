using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Gateway.Inference;

public static class RequestTimelineExtensions
{
    /// <summary>Starts a <see cref="RequestTimeline"/> for each POST under /v1 (the inference API), before authentication.</summary>
    public static IApplicationBuilder UseRequestTimeline(this IApplicationBuilder app)
    {
        var metrics = app.ApplicationServices.GetRequiredService<InferenceMetrics>();
        return app.Use((http, next) =>
        {
            if (metrics.StagesEnabled && HttpMethods.IsPost(http.Request.Method) && http.Request.Path.StartsWithSegments("/v1"))
            {
                http.Features.Set(new RequestTimeline(metrics, Stopwatch.GetTimestamp()));
            }

            return next(http);
        });
    }

    public static RequestTimeline? Timeline(this HttpContext http) => http.Features.Get<RequestTimeline>();
}
