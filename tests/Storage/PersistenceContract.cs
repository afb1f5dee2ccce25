using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Storage;

/// <summary>
/// The grain persistence contract our SQL scripts must keep on every store (versions, conflicts, clear, delete,
/// a racing first insert), written once. Each store is a small subclass that says how to add the store to a silo
/// and how to count its rows, and marks the checks as facts under its own rule (PostgreSQL needs a server).
/// </summary>
public abstract class PersistenceContract : IAsyncLifetime
{
    public const string StorageName = "deepdeploy";
    protected const string DeleteOnClearStorageName = "deepdeploy-delete";

    /// <summary>Rows are keyed by ServiceId: one per test, kept across the clusters it starts.</summary>
    protected string ServiceId { get; } = "svc-" + Guid.NewGuid().ToString("N");

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    /// <summary>Adds the store as <see cref="StorageName"/> (DeepDeploy's setup), and as <see cref="DeleteOnClearStorageName"/>
    /// configured with Orleans' own defaults (its JSON serializer, as DeepDeploy wrote state before session 14) but for
    /// <c>DeleteStateOnClear</c>.</summary>
    protected abstract void AddStorage(ISiloBuilder silo);

    /// <summary>Rows of this test's service whose grain key ends with <paramref name="key"/>.</summary>
    protected abstract Task<long> CountRowsAsync(string key);

    /// <summary>The stored payload of this test's row whose grain key ends with <paramref name="key"/>.</summary>
    protected abstract Task<byte[]> PayloadAsync(string key);

    protected async Task RestartKeepsStateAsync()
    {
        var cluster = await StartClusterAsync();
        var written = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").SetAsync("hello", 7);
        Assert.Equal("1", written.ETag);
        written = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").SetAsync("hello again", 8);
        Assert.Equal("2", written.ETag);
        Assert.True(written.RecordExists);
        await StopAsync(cluster);

        cluster = await StartClusterAsync();
        try
        {
            var read = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-restart").GetAsync();
            Assert.Equal(new NoteState { Text = "hello again", Count = 8 }, read.State);
            Assert.Equal("2", read.ETag);
            Assert.True(read.RecordExists);

            var untouched = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-never-written").GetAsync();
            Assert.Equal(new NoteState(), untouched.State);
            Assert.Null(untouched.ETag);
            Assert.False(untouched.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task StaleETagsAreRejectedAsync()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-stale");
            Assert.Equal("1", (await grain.SetAsync("v1", 1)).ETag);

            // Someone else (another activation, an operator) writes the same record with the current ETag...
            var storage = Storage(cluster, StorageName);
            var other = new GrainState<NoteState>(new NoteState { Text = "other", Count = 99 }) { ETag = "1", RecordExists = true };
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), other);
            Assert.Equal("2", other.ETag);

            // ...so the grain's in-memory ETag "1" is stale: its write must fail and not overwrite.
            await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetAsync("lost update", 2));

            // A stale ETag through the provider directly, and an insert (null ETag) over an existing record.
            var stale = new GrainState<NoteState>(new NoteState { Text = "stale" }) { ETag = "1", RecordExists = true };
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), stale));
            var blind = new GrainState<NoteState>(new NoteState { Text = "blind insert" });
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), blind));

            var current = await grain.ReloadAsync();
            Assert.Equal(new NoteState { Text = "other", Count = 99 }, current.State);
            Assert.Equal("2", current.ETag);
            Assert.Equal("3", (await grain.SetAsync("after reload", 3)).ETag);

            // Clearing with a stale ETag fails as well.
            var staleClear = new GrainState<NoteState>(new NoteState()) { ETag = "2", RecordExists = true };
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(PersistenceTestGrain.StateName, grain.GetGrainId(), staleClear));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task JsonRowsLoadAndAreRewrittenBinaryAsync()
    {
        var cluster = await StartClusterAsync();
        try
        {
            // A row as an older DeepDeploy wrote it (Orleans' default serializer: JSON).
            var id = GrainId.Create("test", "g-json");
            var old = new GrainState<NoteState>(new NoteState { Text = "written as JSON", Count = 3 });
            await Storage(cluster, DeleteOnClearStorageName).WriteStateAsync(PersistenceTestGrain.StateName, id, old);
            Assert.Equal((byte)'{', (await PayloadAsync("g-json"))[0]);

            var storage = Storage(cluster, StorageName);
            var read = new GrainState<NoteState>(new NoteState());
            await storage.ReadStateAsync(PersistenceTestGrain.StateName, id, read);
            Assert.Equal(old.State, read.State);
            Assert.Equal("1", read.ETag);

            read.State = read.State! with { Count = 4 };
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, id, read);
            var payload = await PayloadAsync("g-json");
            Assert.NotEqual((byte)'{', payload[0]);
            Assert.True(payload.Length < System.Text.Encoding.UTF8.GetByteCount("written as JSON") + 40, $"{payload.Length} bytes: not the binary format");

            var reread = new GrainState<NoteState>(new NoteState());
            await storage.ReadStateAsync(PersistenceTestGrain.StateName, id, reread);
            Assert.Equal(new NoteState { Text = "written as JSON", Count = 4 }, reread.State);
            Assert.Equal("2", reread.ETag);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task OneRacingInsertWinsAsync()
    {
        var cluster = await StartClusterAsync();
        try
        {
            // Two activations racing to create the same record (e.g. during a split): exactly one insert wins.
            var storage = Storage(cluster, StorageName);
            var id = GrainId.Create("test", "g-race");
            var racers = Enumerable.Range(0, 8).Select(i => new GrainState<NoteState>(new NoteState { Text = $"racer {i}" })).ToList();
            var results = await Task.WhenAll(racers.Select(async racer =>
            {
                try
                {
                    await storage.WriteStateAsync(PersistenceTestGrain.StateName, id, racer);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            }));
            Assert.Equal(1, results.Count(won => won));
            Assert.Equal(1L, await CountRowsAsync("g-race"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task ClearKeepsVersioningAsync()
    {
        var cluster = await StartClusterAsync();
        var grain = cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear");
        await grain.SetAsync("to be cleared", 5);
        var cleared = await grain.ClearAsync();
        Assert.Equal(new NoteState(), cleared.State);
        Assert.False(cleared.RecordExists);
        Assert.Equal("2", cleared.ETag); // ClearStorageKey keeps the row and bumps its version
        Assert.Equal("3", (await grain.SetAsync("written after clear", 6)).ETag);
        Assert.Equal("4", (await grain.ClearAsync()).ETag);
        await StopAsync(cluster);

        cluster = await StartClusterAsync();
        try
        {
            var read = await cluster.Client.GetGrain<IPersistenceTestGrain>("g-clear").GetAsync();
            Assert.Equal(new NoteState(), read.State);
            Assert.Equal("4", read.ETag);
            Assert.False(read.RecordExists);
            Assert.Equal(1L, await CountRowsAsync("g-clear"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task DeleteOnClearStartsOverAsync()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var storage = Storage(cluster, DeleteOnClearStorageName);
            var id = GrainId.Create("test", "g-delete");
            var state = new GrainState<NoteState>(new NoteState { Text = "x", Count = 1 });
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, id, state);
            Assert.Equal("1", state.ETag);
            Assert.Equal(1L, await CountRowsAsync("g-delete"));

            await storage.ClearStateAsync(PersistenceTestGrain.StateName, id, state);
            Assert.Null(state.ETag);
            Assert.False(state.RecordExists);
            Assert.Equal(0L, await CountRowsAsync("g-delete"));

            state.State = new NoteState { Text = "y", Count = 2 };
            await storage.WriteStateAsync(PersistenceTestGrain.StateName, id, state); // a fresh insert after the delete
            Assert.Equal("1", state.ETag);

            var reread = new GrainState<NoteState>(new NoteState());
            await storage.ReadStateAsync(PersistenceTestGrain.StateName, id, reread);
            Assert.Equal(new NoteState { Text = "y", Count = 2 }, reread.State);
            Assert.Equal("1", reread.ETag);
            Assert.True(reread.RecordExists);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    async Task<InProcessTestCluster> StartClusterAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = ServiceId;
        builder.ConfigureSilo((_, silo) => AddStorage(silo));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    static IGrainStorage Storage(InProcessTestCluster cluster, string name) =>
        cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(name);
}
