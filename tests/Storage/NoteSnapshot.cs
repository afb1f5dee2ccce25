namespace DeepDeploy.Tests.Storage;

/// <summary>What <see cref="PersistenceTestGrain"/> holds after a call: its state and the store's version of it.</summary>
[GenerateSerializer, Immutable]
public sealed record NoteSnapshot(
    [property: Id(0)] NoteState State,
    [property: Id(1)] string? ETag,
    [property: Id(2)] bool RecordExists);
