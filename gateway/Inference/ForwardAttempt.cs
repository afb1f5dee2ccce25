namespace DeepDeploy.Gateway.Inference;

/// <summary>What the transformer learned about one forwarding attempt (an HttpContext feature).</summary>
public sealed class ForwardAttempt
{
    /// <summary>The instance this attempt goes to: its URLs and its secret, presented by the transformer.</summary>
    public required InstanceSlot Slot { get; init; }

    /// <summary>The engine answered that it did no work (header X-DeepDeploy-Refused: busy, loading, draining,
    /// failed): the request may go to another instance. Nothing was sent to the client.</summary>
    public string? Refused { get; set; }

    /// <summary>Stopwatch timestamp of the engine's response headers (0 before them): ends the forward stage.</summary>
    public long HeadersAt { get; set; }

    /// <summary>Set for DeepInfra's native API: translates the engine's answer.</summary>
    public NativeResponseStream? Native { get; init; }
}
