using DeepDeploy.Contracts.Billing;

namespace DeepDeploy.Grains.Billing;

/// <summary>One instance's billed time: closed segments, and the open one while it serves.</summary>
[GenerateSerializer]
public sealed class Meter
{
    [Id(0)] public required MeterStart Start { get; init; }
    [Id(1)] public List<MeterSegment> Segments { get; init; } = [];
    [Id(2)] public DateTimeOffset? OpenSince { get; set; }
    [Id(3)] public DateTimeOffset LastRenewed { get; set; }
    [Id(4)] public bool Stopped { get; set; }

    /// <summary>Every billed interval, the open one counted until <paramref name="now"/>.</summary>
    public IEnumerable<MeterSegment> Intervals(DateTimeOffset now) =>
        OpenSince is { } open && now > open ? Segments.Append(new MeterSegment(open, now)) : Segments;

    /// <summary>Opens the meter again for a serving period that began at <paramref name="servingSince"/>. A period
    /// that began before the last close ran through the gap since: the last segment continues (billed once).</summary>
    public void Reopen(DateTimeOffset servingSince)
    {
        if (Segments.Count > 0 && servingSince <= Segments[^1].To)
        {
            OpenSince = Segments[^1].From;
            Segments.RemoveAt(Segments.Count - 1);
        }
        else
        {
            OpenSince = servingSince;
        }
    }

    public void Close(DateTimeOffset at)
    {
        if (OpenSince is { } open)
        {
            if (at > open)
            {
                Segments.Add(new MeterSegment(open, at));
            }

            OpenSince = null;
        }
    }
}
