using System.Threading.Channels;
using DeepDeploy.Silo.Storage;
using Orleans.Storage;

namespace DeepDeploy.Tests.Storage;

/// <summary>The SQLite storage's write gate: a process writes its database file one state at a time and the other writers
/// wait without holding a thread (before, each got SQLITE_BUSY and slept a thread-pool thread in 150 ms steps); reads pass
/// while a write is in flight.</summary>
[Trait("Category", "Unit")]
public sealed class SqliteWriteGateTests
{
    [Fact]
    public async Task Writes_to_one_file_go_one_at_a_time_and_reads_pass_them()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gate-{Guid.NewGuid():N}.db");
        var inner = new HeldStorage();
        IGrainStorage silo1 = new SqliteWriteGate(inner, $"Data Source={file}");
        IGrainStorage silo2 = new SqliteWriteGate(inner, $"Data Source={file};Cache=Shared");

        var writes = Enumerable.Range(0, 3)
            .Select(i => (i % 2 == 0 ? silo1 : silo2).WriteStateAsync("s", GrainId.Create("t", $"{i}"), new GrainState<string>("x")))
            .ToArray();
        for (var i = 0; i < writes.Length; i++)
        {
            var started = await inner.Started.Reader.ReadAsync();
            Assert.Equal(1, inner.InFlight);
            Assert.False(inner.Started.Reader.TryPeek(out _), "a second write started while one was in flight");

            await silo2.ReadStateAsync("s", GrainId.Create("t", "r"), new GrainState<string>("x"));
            started.SetResult();
        }

        await Task.WhenAll(writes);
        Assert.Equal(0, inner.InFlight);
    }

    /// <summary>TEST DOUBLE for the ADO.NET storage: each write is held until the test completes it; reads answer at once.</summary>
    sealed class HeldStorage : IGrainStorage
    {
        int _inFlight;

        public Channel<TaskCompletionSource> Started { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

        public int InFlight => Volatile.Read(ref _inFlight);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            Interlocked.Increment(ref _inFlight);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Started.Writer.TryWrite(done);
            await done.Task;
            Interlocked.Decrement(ref _inFlight);
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;
    }
}
