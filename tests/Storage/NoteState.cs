namespace DeepDeploy.Tests.Storage;

/// <summary>State persisted by <see cref="PersistenceTestGrain"/> through the store under test.</summary>
[GenerateSerializer, Immutable]
public sealed record NoteState
{
    [Id(0)] public string Text { get; init; } = "";
    [Id(1)] public int Count { get; init; }
}
