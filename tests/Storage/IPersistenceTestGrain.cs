namespace DeepDeploy.Tests.Storage;

public interface IPersistenceTestGrain : IGrainWithStringKey
{
    Task<NoteSnapshot> GetAsync();
    Task<NoteSnapshot> SetAsync(string text, int count);
    Task<NoteSnapshot> ClearAsync();
    Task<NoteSnapshot> ReloadAsync();
}
