using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.Events;

/// <summary>Deployment events: a deployment's history and live feed for its owner, the cluster-wide feed for operators.</summary>
public static class EventEndpoints
{
    const int DefaultLimit = 100;

    public static void MapEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/deploy/{deployId}/events", Deployment).RequireAuthorization().WithTags("Deployments")
            .WithSummary("A deployment's events, newest last (after=<seq>&limit=N pages; follow=true streams them as server-sent events)")
            .Produces<ApiErrorBody>(StatusCodes.Status404NotFound);
        app.MapGet("/admin/events", Cluster).RequireAuthorization(p => p.RequireRole(Roles.Operator)).WithTags("Operator")
            .WithSummary("Events of every deployment, newest last (same parameters as a deployment's events)");
    }

    static async Task<IResult> Deployment(HttpContext http, IClusterClient client, string deployId,
        [FromQuery(Name = "after")] string? after, [FromQuery(Name = "limit")] string? limit, [FromQuery(Name = "follow")] string? follow)
    {
        var query = Query.Read(http, after, limit, follow);
        if (deployId.Length > 64 || await client.GetGrain<IDeploymentGrain>(deployId).Get() is not { } view
            || (view.Owner != http.User.Identity!.Name && !http.User.IsInRole(Roles.Operator)))
        {
            // The owner still reads a deleted deployment's events: they say what happened to it.
            return ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", "No such deployment.", "deploy_id");
        }

        return await RespondAsync(client, deployId, query);
    }

    static async Task<IResult> Cluster(HttpContext http, IClusterClient client,
        [FromQuery(Name = "after")] string? after, [FromQuery(Name = "limit")] string? limit, [FromQuery(Name = "follow")] string? follow) =>
        await RespondAsync(client, EventStreams.ClusterKey, Query.Read(http, after, limit, follow));

    static async Task<IResult> RespondAsync(IClusterClient client, string key, Query query)
    {
        if (query.Follow)
        {
            return new EventStreamResult(aborted => Items(client, key, query, aborted));
        }

        var page = await client.GetGrain<IEventLogGrain>(key).Read(query.After, query.Limit);
        return Results.Json(new
        {
            events = page.Events,
            last_sequence = page.LastSequence,
        }, EventJson.Options);
    }

    static async IAsyncEnumerable<SseItem<string>> Items(IClusterClient client, string key, Query query,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken aborted)
    {
        await foreach (var e in EventFeed.FollowAsync(client, key, query.After, query.Limit, aborted))
        {
            yield return new SseItem<string>(JsonSerializer.Serialize(e, EventJson.Options), "deployment_event")
            {
                EventId = e.Sequence.ToString(CultureInfo.InvariantCulture),
            };
        }
    }

    /// <summary>after (or a reconnecting client's Last-Event-ID, which wins), limit, follow.</summary>
    sealed record Query(long? After, int Limit, bool Follow)
    {
        public static Query Read(HttpContext http, string? after, string? limit, string? follow)
        {
            var resume = http.Request.Headers["Last-Event-ID"].ToString();
            var afterValue = resume.Length > 0
                ? QueryValues.Integer(resume, "Last-Event-ID", 0, 999_999_999)
                : QueryValues.Integer(after, "after", 0, 999_999_999);
            return new Query(afterValue, QueryValues.Integer(limit, "limit", 1, EventStreams.HistoryLimit) ?? DefaultLimit, Flag(follow, "follow"));
        }
    }

    /// <summary>true or false, nothing else.</summary>
    internal static bool Flag(string? text, string field) => text switch
    {
        null or "false" => false,
        "true" => true,
        _ => throw new BadRequestException(field, $"'{field}' must be true or false."),
    };
}
