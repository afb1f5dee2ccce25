namespace DeepDeploy.Tests.Soak;

/// <summary>One process at one instant: resident memory, GC heap after the last collection (from its /metrics;
/// null where it exports none), open descriptors, threads, established TCP connections.</summary>
public sealed record SoakSample(string Process, double Seconds, double RssMiB, double? GcHeapMiB, int Fds, int Threads, int Tcp);
