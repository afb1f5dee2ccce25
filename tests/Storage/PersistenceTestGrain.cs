namespace DeepDeploy.Tests.Storage;

/// <summary>A grain whose only job is to read, write and clear its state through the store under test.</summary>
public sealed class PersistenceTestGrain(
    [PersistentState(PersistenceTestGrain.StateName, PersistenceContract.StorageName)] IPersistentState<NoteState> note)
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

    NoteSnapshot Snapshot() => new(note.State, note.Etag, note.RecordExists);
}
