namespace DeepDeploy.Gateway.Events;

/// <summary>Settings of the server-sent event streams (the follow endpoints of events and logs; configuration section
/// <c>DeepDeploy:Events</c>, e.g. <c>DeepDeploy__Events__KeepAliveInterval=00:00:30</c>).</summary>
public sealed class EventStreamOptions
{
    public const string Section = "DeepDeploy:Events";

    /// <summary>How often an open stream gets a comment line (<c>: keep-alive</c>), so that proxies and load balancers
    /// that cut idle connections (often after 30–60 s) keep a quiet follow open.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);
}
