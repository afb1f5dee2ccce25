namespace DeepDeploy.Tests.Storage;

/// <summary>State persisted by <see cref="PersistenceTestGrain"/> through the SQLite store.</summary>
[GenerateSerializer, Immutable]
public sealed record NoteState
{
    [Id(0)] public string Text { get; init; } = "";
    [Id(1)] public int Count { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record NoteSnapshot(
    [property: Id(0)] NoteState State,
    [property: Id(1)] string? ETag,
    [property: Id(2)] bool RecordExists);

public interface IPersistenceTestGrain : IGrainWithStringKey
{
    Task<NoteSnapshot> GetAsync();
    Task<NoteSnapshot> SetAsync(string text, int count);
    Task<NoteSnapshot> ClearAsync();
    Task<NoteSnapshot> ReloadAsync();
}

public sealed class PersistenceTestGrain(
    [PersistentState(PersistenceTestGrain.StateName, SqlitePersistenceTests.StorageName)] IPersistentState<NoteState> note)
    : Grain, IPersistenceTestGrain
{
    public const string StateName = "note";

    public Task<NoteSnapshot> GetAsync() => Task.FromResult(Snapshot());

    public async Task<NoteSnapshot> SetAsync(string text, int count)
    {
        note.State = new NoteState { Text = text, Count = count };
        await note.WriteStateAsync();
        return Snapshot();
    }

    public async Task<NoteSnapshot> ClearAsync()
    {
        await note.ClearStateAsync();
        return Snapshot();
    }

    public async Task<NoteSnapshot> ReloadAsync()
    {
        await note.ReadStateAsync();
        return Snapshot();
    }

    private NoteSnapshot Snapshot() => new(note.State, note.Etag, note.RecordExists);
}
