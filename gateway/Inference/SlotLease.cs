namespace DeepDeploy.Gateway.Inference;

/// <summary>One request's slot on one instance; released exactly once, when the answer is complete.</summary>
public sealed class SlotLease(DeploymentLane lane, InstanceSlot slot)
{
    int _released;

    public InstanceSlot Slot { get; } = slot;

    public string Endpoint => Slot.Endpoint;

    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            lane.Release(Slot);
        }
    }
}
