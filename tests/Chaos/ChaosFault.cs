namespace DeepDeploy.Tests.Chaos;

/// <summary>One fault of the chaos suite: <paramref name="Strike"/> injects it and returns the engine pids it
/// killed (a "full strength" deployment must not count them); <paramref name="Repair"/> then puts the killed
/// processes back, so that the next fault starts from a whole cluster.</summary>
public sealed record ChaosFault(string Name, Func<Task<IReadOnlySet<int>>> Strike, Func<Task> Repair);
