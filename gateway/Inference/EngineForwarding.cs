namespace DeepDeploy.Gateway.Inference;

/// <summary>How the gateway sends requests to engines (<c>DeepDeploy__Inference__Forwarding</c>); docs/gateway.md
/// "Forwarding to engines" has the measurements behind the default.</summary>
public enum EngineForwarding
{
    /// <summary>YARP's forwarder over <see cref="SocketsHttpHandler"/> for every request (the default).</summary>
    Yarp,

    /// <summary>Hand-written HTTP/1.1 over pooled keep-alive sockets (<see cref="RawEngineForwarder"/>) for plain
    /// http:// engines and requests no trace records; YARP for the others.</summary>
    Raw,
}
