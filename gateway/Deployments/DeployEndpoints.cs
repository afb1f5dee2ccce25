using System.Security.Claims;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Events;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>DeepInfra's deploy API: /deploy/llm, /deploy/list, /deploy/{id}.</summary>
public static class DeployEndpoints
{
    public static void MapDeployEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/deploy").RequireAuthorization().WithTags("Deployments")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        group.MapPost("/llm", Create).RequireAuthorization(p => p.RequireRole(Roles.User))
            .WithSummary("Create a deployment")
            .Accepts<DeployBody>("application/json")
            .Produces<DeployObject>()
            .Produces<ApiErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<ApiErrorBody>(StatusCodes.Status409Conflict);
        group.MapGet("/llm/gpu_availability", GpuAvailability).WithSummary("GPU configurations: price per hour, free GPUs, whether one could start now");
        group.MapGet("/list", List).WithSummary("List deployments (status=a,b filters; deleted ones only when asked)")
            .Produces<DeployObject[]>();
        group.MapGet("/{deployId}", Get).WithSummary("Get a deployment").Produces<DeployObject>()
            .Produces<ApiErrorBody>(StatusCodes.Status404NotFound);
        group.MapPut("/{deployId}", Update).WithSummary("Change settings (min/max instances); nothing else may change")
            .Accepts<UpdateBody>("application/json").Produces<DeployObject>()
            .Produces<ApiErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<ApiErrorBody>(StatusCodes.Status404NotFound);
        group.MapDelete("/{deployId}", Delete).WithSummary("Delete a deployment and stop its instances").Produces<DeployObject>()
            .Produces<ApiErrorBody>(StatusCodes.Status404NotFound);
        group.MapGet("/{deployId}/logs", Logs).WithSummary("Recent output of the deployment's engine processes (live and lately ended); follow=true streams new lines as server-sent events");
        group.MapPost("/{deployId}/stop", Stop).WithSummary("Stop every instance, keep the deployment (status stopped)").Produces<DeployObject>();
        group.MapPost("/{deployId}/start", Start).WithSummary("Run a stopped or failed deployment again").Produces<DeployObject>();
    }

    static async Task<IResult> Create(HttpContext http, IGrainFactory grains)
    {
        var user = http.User.Identity!.Name!;
        var request = await DeployRequest.ReadAsync(http.Request, user, http.RequestAborted);
        var result = await grains.GetGrain<IDeploymentGrain>(DeploymentIds.New()).Create(new NewDeployment(
            new DeploymentSpec(user, request.ModelName, request.Gpu, request.NumGpus, request.MaxBatchSize, request.HfRepo,
                request.HfRevision, HfTokenProtected: null, request.MinInstances, request.MaxInstances, request.ExtraArgs, request.Quantization),
            request.HfToken));
        return Map(result);
    }

    static async Task<IResult> List(HttpContext http, IGrainFactory grains, string? status)
    {
        var wanted = ParseStatuses(status);
        var ids = new List<string>();
        foreach (var user in await CallerUsers(http.User, grains))
        {
            if (await grains.GetGrain<IUserQuotaGrain>(user).Get() is { } account)
            {
                ids.AddRange(account.Deployments);
            }
        }

        var views = await Task.WhenAll(ids.Select(id => grains.GetGrain<IDeploymentGrain>(id).Get()));
        return Results.Ok(views
            .OfType<DeploymentView>()
            .Where(v => wanted.Contains(v.Status))
            .OrderByDescending(v => v.CreatedAt)
            .Select(DeployObject.From));
    }

    static async Task<IResult> Get(HttpContext http, IGrainFactory grains, string deployId)
    {
        var view = await Visible(http.User, grains, deployId);
        return view is null ? NotFound(deployId) : Results.Ok(DeployObject.From(view));
    }

    static async Task<IResult> Update(HttpContext http, IGrainFactory grains, string deployId)
    {
        var view = await Visible(http.User, grains, deployId);
        if (view is null)
        {
            return NotFound(deployId);
        }

        var body = await UpdateBody.ReadAsync(http.Request, http.RequestAborted);
        var (min, max) = body.Apply(view.MinInstances, view.MaxInstances);
        return Map(await grains.GetGrain<IDeploymentGrain>(deployId).UpdateSettings(min, max));
    }

    static async Task<IResult> Logs(HttpContext http, IClusterClient grains, string deployId, [FromQuery(Name = "lines")] string? linesText,
        [FromQuery(Name = "follow")] string? follow)
    {
        var lines = QueryValues.Integer(linesText, "lines", 1, 1000);
        var following = EventEndpoints.Flag(follow, "follow");

        if (await Visible(http.User, grains, deployId) is null)
        {
            return NotFound(deployId);
        }

        if (following)
        {
            return LogFollow.Result(grains, deployId, lines ?? 100);
        }

        var logs = await grains.GetGrain<IDeploymentGrain>(deployId).GetLogs(lines ?? 100);
        return Results.Ok(logs.Select(l => new { instance_id = l.InstanceId, node = l.Node, live = l.Live, lines = l.Lines }));
    }

    static async Task<IResult> Stop(HttpContext http, IGrainFactory grains, string deployId) =>
        await Visible(http.User, grains, deployId) is null
            ? NotFound(deployId)
            : await grains.GetGrain<IDeploymentGrain>(deployId).Stop() is { } view ? Results.Ok(DeployObject.From(view)) : NotFound(deployId);

    static async Task<IResult> Start(HttpContext http, IGrainFactory grains, string deployId) =>
        await Visible(http.User, grains, deployId) is null
            ? NotFound(deployId)
            : Map(await grains.GetGrain<IDeploymentGrain>(deployId).Start());

    /// <summary>Per GPU type and instance size: price per hour, free GPUs, and whether the caller could
    /// start such an instance now (a node has the GPUs free and the caller's quota has room).</summary>
    static async Task<IResult> GpuAvailability(HttpContext http, IGrainFactory grains, IOptions<GpuPrices> prices)
    {
        var capacity = await ClusterCapacity.LoadAsync(grains);
        var account = http.User.IsInRole(Roles.Operator) ? null : await grains.GetGrain<IUserQuotaGrain>(http.User.Identity!.Name!).Get();
        var quotaLeft = account is null ? int.MaxValue : account.GpuLimit - account.GpusReserved;
        var configs = new List<object>();
        foreach (var gpu in GpuCatalog.Types)
        {
            var largest = capacity.LargestNode(gpu);
            foreach (var n in new[] { 1, 2, 4, 8 }.Where(n => n == 1 || n <= largest))
            {
                var fits = capacity.FitsNow(gpu, n);
                var reason = largest < n ? $"no node holds {n} × {gpu}"
                    : !fits ? "no node has enough free GPUs now"
                    : n > quotaLeft ? $"over your GPU quota ({quotaLeft} of {account!.GpuLimit} left)"
                    : null;
                configs.Add(new
                {
                    gpu_config = $"{n}x{gpu}",
                    gpu,
                    num_gpus = n,
                    usd_per_hour = prices.Value.Of(gpu) * n,
                    free_gpus = capacity.Free(gpu),
                    available = reason is null,
                    reason,
                });
            }
        }

        return Results.Ok(new { gpus = configs });
    }

    static async Task<IResult> Delete(HttpContext http, IGrainFactory grains, string deployId)
    {
        var view = await Visible(http.User, grains, deployId);
        if (view is null || !await grains.GetGrain<IDeploymentGrain>(deployId).Delete())
        {
            return NotFound(deployId);
        }

        return Results.Ok(DeployObject.From((await grains.GetGrain<IDeploymentGrain>(deployId).Get())!));
    }

    /// <summary>The deployment if the caller may see it. Another user's deployment is "not found", so that
    /// existence does not leak; a deleted one too.</summary>
    static async Task<DeploymentView?> Visible(ClaimsPrincipal caller, IGrainFactory grains, string deployId)
    {
        if (deployId.Length > 64)
        {
            return null;
        }

        var view = await grains.GetGrain<IDeploymentGrain>(deployId).Get();
        if (view is null || view.Status == DeploymentStatus.Deleted)
        {
            return null;
        }

        return caller.IsInRole(Roles.Operator) || view.Owner == caller.Identity!.Name ? view : null;
    }

    static async Task<IReadOnlyList<string>> CallerUsers(ClaimsPrincipal caller, IGrainFactory grains) =>
        caller.IsInRole(Roles.Operator)
            ? await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).List()
            : [caller.Identity!.Name!];

    static HashSet<DeploymentStatus> ParseStatuses(string? status)
    {
        if (string.IsNullOrWhiteSpace(status))
        {
            return Enum.GetValues<DeploymentStatus>().Where(s => s != DeploymentStatus.Deleted).ToHashSet();
        }

        var set = new HashSet<DeploymentStatus>();
        foreach (var part in status.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim(' ')))
        {
            // Letters only: Enum.TryParse also takes numbers and surrounding white space (a trailing newline).
            if (!part.All(char.IsAsciiLetter) || !Enum.TryParse<DeploymentStatus>(part, ignoreCase: true, out var parsed))
            {
                throw new BadRequestException("status",
                    $"Unknown status '{part}'. Known: {string.Join(", ", Enum.GetNames<DeploymentStatus>().Select(n => n.ToLowerInvariant()))}.");
            }

            set.Add(parsed);
        }

        return set;
    }

    /// <summary>The deploy object, or the grain's refusal in the documented error shape.</summary>
    static IResult Map(DeploymentResult result) => result.Error is { } error
        ? ApiErrors.Result(error.Kind switch
        {
            DeploymentErrorKind.Invalid => StatusCodes.Status400BadRequest,
            DeploymentErrorKind.PaymentRequired => StatusCodes.Status402PaymentRequired,
            DeploymentErrorKind.Forbidden => StatusCodes.Status403Forbidden,
            DeploymentErrorKind.NotFound => StatusCodes.Status404NotFound,
            DeploymentErrorKind.Conflict => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status500InternalServerError,
        }, error.Code, error.Message, error.Field)
        : Results.Ok(DeployObject.From(result.View!));

    static IResult NotFound(string deployId) =>
        ApiErrors.Result(StatusCodes.Status404NotFound, "not_found", $"No deployment '{deployId}'.", "deploy_id");
}
