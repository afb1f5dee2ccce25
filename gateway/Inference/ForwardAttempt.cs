namespace DeepDeploy.Gateway.Inference;

/// <summary>What the transformer learned about one forwarding attempt (an HttpContext feature).</summary>
public sealed class ForwardAttempt
{
    /// <summary>The secret of the instance this attempt goes to, presented by the transformer.</summary>
    public string? InstanceSecret { get; init; }

    /// <summary>The engine answered that it did no work (header X-DeepDeploy-Refused: busy, loading, draining,
    /// failed): the request may go to another instance. Nothing was sent to the client.</summary>
    public string? Refused { get; set; }

    /// <summary>Stopwatch timestamp of the engine's response headers (0 before them): ends the forward stage.</summary>
    public long HeadersAt { get; set; }

    /// <summary>Set for DeepInfra's native API: translates the engine's answer.</summary>
    public NativeResponseStream? Native { get; init; }
}
