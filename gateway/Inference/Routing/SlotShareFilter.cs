namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Keeps instances below their slot share: this gateway's share of max_batch_size, or fewer while the engine
/// said it was full (<see cref="InstanceSlot.Ceiling"/>). Every policy has it: it is the max_batch_size invariant.</summary>
public sealed class SlotShareFilter : IInstanceFilter
{
    public static readonly SlotShareFilter Instance = new();

    public string Name => "slot-share";

    public bool Keep(InstanceSlot slot, in RoutingContext context) => slot.InFlight < slot.CapacityAt(context.Now);
}
