namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// One way of choosing an instance, in the style of the Gateway API Inference Extension's endpoint picker: filters
/// drop the instances that must not get the request, a picker takes one of the rest (by weighted scores, in turn,
/// or at random). Called under the lane's lock with the lane's own buffer: it allocates nothing.
/// </summary>
public sealed class RoutingPolicy(string name, IInstanceFilter[] filters, IInstancePicker picker)
{
    public string Name { get; } = name;

    public IReadOnlyList<IInstanceFilter> Filters => filters;

    public IInstancePicker Picker { get; } = picker;

    /// <summary>The chosen instance, or null when every one was filtered out. <paramref name="buffer"/> is scratch
    /// space at least as long as <paramref name="instances"/>.</summary>
    public InstanceSlot? Pick(ReadOnlySpan<InstanceSlot> instances, Span<InstanceSlot> buffer, in RoutingContext context)
    {
        var count = 0;
        foreach (var slot in instances)
        {
            if (Keeps(slot, context))
            {
                buffer[count++] = slot;
            }
        }

        return count == 0 ? null : Picker.Pick(buffer[..count], context);
    }

    bool Keeps(InstanceSlot slot, in RoutingContext context)
    {
        foreach (var filter in filters)
        {
            if (!filter.Keep(slot, context))
            {
                return false;
            }
        }

        return true;
    }
}
