using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Tests.Gateway;

/// <summary>A runtime or transport setting the gateway benchmark's A/B compares (<c>DEEPDEPLOY_BENCH_KNOBS</c>):
/// environment variables given to the floor and the shipped silo. <c>base</c> is each one as shipped.</summary>
public sealed record RuntimeKnob(string Name, IReadOnlyDictionary<string, string> Environment)
{
    const string Sockets = "DeepDeploy__Gateway__Sockets__";

    static readonly Dictionary<string, string> Inline = new()
    {
        // Kestrel runs the request's continuations on the socket's I/O thread; the runtime completes socket
        // operations inline on the epoll thread instead of queueing them to the thread pool.
        [$"{Sockets}UnsafePreferInlineScheduling"] = "true",
        ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
    };

    static readonly Dictionary<string, string> Workstation = new() { ["DOTNET_gcServer"] = "0" };

    public static readonly IReadOnlyList<RuntimeKnob> All =
    [
        new("base", new Dictionary<string, string>()),
        new("inline", Inline),
        new("wks", Workstation),
        new("wks-nonconc", new Dictionary<string, string>(Workstation) { ["DOTNET_gcConcurrent"] = "0" }),
        // 64 MB gen0 budget (hex): fewer gen0 GCs for a proxy whose objects die young.
        new("gen0-64m", new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "4000000" }),
        new("ioq1", new Dictionary<string, string> { [$"{Sockets}IOQueueCount"] = "1" }),
        new("inline+wks", new Dictionary<string, string>(Inline.Concat(Workstation))),
        new("nopgo", new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "0" }),
    ];

    /// <summary>The knobs a comma-separated list names (<paramref name="defaults"/> when empty), <c>base</c> first;
    /// an unknown name throws.</summary>
    public static IReadOnlyList<RuntimeKnob> Parse(string? names, string defaults)
    {
        var chosen = (string.IsNullOrWhiteSpace(names) ? defaults : names)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(n => n != "base").Distinct();
        return [All[0], .. chosen.Select(Named)];
    }

    static RuntimeKnob Named(string name) => All.SingleOrDefault(k => k.Name == name)
        ?? throw new ArgumentException($"unknown knob {name}; known: {string.Join(", ", All.Select(k => k.Name))} (socket settings: {TransportSettings.Section})");
}
