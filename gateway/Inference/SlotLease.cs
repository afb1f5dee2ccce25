namespace DeepDeploy.Gateway.Inference;

/// <summary>One request's slot on one instance; released exactly once, when the answer is complete.</summary>
public sealed class SlotLease(DeploymentLane lane, InstanceSlot slot, int tokens = 0)
{
    int _released;

    public InstanceSlot Slot { get; } = slot;

    public string Endpoint => Slot.Endpoint;

    /// <summary>The request's max_tokens, counted in the slot's outstanding generation while leased.</summary>
    public int Tokens { get; } = tokens;

    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            lane.Release(Slot, Tokens);
        }
    }
}
