using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Telemetry;

/// <summary>The values of a scale decision's <c>trigger</c>: the input that made the deployment decide when it did.
/// gateway_queue and gateway_in_flight are a gateway's immediate report (its queue grew, or its in-flight crossed the
/// pressure threshold), periodic_report its regular one, cold_start a request held with no instance, settings a
/// change of min/max, control_loop the deployment's own tick (a cooldown or window that ran out, a lost instance).</summary>
public static class ScaleTrigger
{
    public const string GatewayQueue = "gateway_queue";
    public const string GatewayInFlight = "gateway_in_flight";
    public const string PeriodicReport = "periodic_report";
    public const string ColdStart = "cold_start";
    public const string Settings = "settings";
    public const string ControlLoop = "control_loop";

    public static string Of(LoadTrigger trigger) => trigger switch
    {
        LoadTrigger.GatewayQueue => GatewayQueue,
        LoadTrigger.GatewayInFlight => GatewayInFlight,
        _ => PeriodicReport,
    };
}
