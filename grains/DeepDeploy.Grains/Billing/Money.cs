namespace DeepDeploy.Grains.Billing;

/// <summary>Money rules: exact decimal seconds × price per GPU-hour; each invoice or usage line rounded to
/// cents (half away from zero); totals are sums of rounded lines, so lines always add up.</summary>
public static class Money
{
    public static decimal Seconds(DateTimeOffset from, DateTimeOffset to) =>
        to > from ? (decimal)(to - from).Ticks / TimeSpan.TicksPerSecond : 0m;

    public static decimal Amount(decimal gpuSeconds, decimal usdPerGpuHour) =>
        Math.Round(gpuSeconds * usdPerGpuHour / 3600m, 2, MidpointRounding.AwayFromZero);

    public static DateTimeOffset MonthStart(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Monday 00:00 UTC of the ISO week holding <paramref name="at"/>.</summary>
    public static DateTimeOffset WeekStart(DateTimeOffset at)
    {
        var day = at.UtcDateTime.Date;
        var sinceMonday = ((int)day.DayOfWeek + 6) % 7;
        return new DateTimeOffset(day.AddDays(-sinceMonday), TimeSpan.Zero);
    }
}
