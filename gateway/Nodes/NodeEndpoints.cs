using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.Nodes;

/// <summary>GET /admin/nodes (operator): every registered GPU node, its state and which instance holds which GPU.</summary>
public static class NodeEndpoints
{
    public static void MapNodeEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/admin/nodes", List).RequireAuthorization(p => p.RequireRole(Roles.Operator)).WithTags("Operator")
            .WithSummary("Every registered GPU node: state (live, lost, silo_down), last report, and per GPU index its holder or free");

    static async Task<IResult> List(IGrainFactory grains)
    {
        var nodes = await grains.GetGrain<INodeOverviewGrain>(0).List();
        return Results.Ok(new
        {
            gpu_count = nodes.Sum(n => n.Total.Values.Sum()),
            free_gpus = nodes.Where(n => n.State == NodeState.Live).Sum(n => n.Free.Values.Sum()),
            nodes = nodes.Select(Describe),
        });
    }

    static object Describe(NodeOverview node) => new
    {
        name = node.Node,
        state = node.State switch { NodeState.Live => "live", NodeState.Lost => "lost", _ => "silo_down" },
        gpu_type = string.Join("+", node.Total.Keys.Order(StringComparer.Ordinal)),
        gpu_count = node.Total.Values.Sum(),
        free_gpus = node.Free.Values.Sum(),
        last_report_at = node.LastReport,
        simulated = node.Simulated,
        unreachable = node.Unreachable,
        gpus = node.Gpus?.Select(g => new
        {
            index = g.Index,
            type = g.Type,
            memory_mib = g.MemoryMiB,
            state = g.InstanceId is null ? "free" : "held",
            deploy_id = g.DeployId,
            owner = g.Owner,
            model = g.Model,
            instance_id = g.InstanceId,
        }),
    };
}
