namespace DeepDeploy.Gateway.Inference;

/// <summary>The stages of an inference request at the gateway, the <c>stage</c> tag of
/// <c>deepdeploy.gateway.stage.duration</c>: in order, they add up to the request's time in the gateway.</summary>
public static class GatewayStage
{
    /// <summary>Arrival to the endpoint: endpoint routing, the bearer token, authorization.</summary>
    public const string Authentication = "authentication";

    /// <summary>The caller's limits, reading the body, its model and the routing table's lane.</summary>
    public const string BodyRead = "body_read";

    /// <summary>Choosing an instance (the routing pipeline, under the lane's lock).</summary>
    public const string Routing = "routing";

    /// <summary>Waiting in the deployment's queue for a slot (0 when one was free).</summary>
    public const string Admission = "admission";

    /// <summary>Sending to the engine until its response headers: the engine's own time to answer is in it.</summary>
    public const string Forward = "forward";

    /// <summary>Copying the answer to the client, from the engine's headers to its last byte.</summary>
    public const string ResponseCopy = "response_copy";
}
