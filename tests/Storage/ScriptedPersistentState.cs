using System.Threading.Channels;

namespace DeepDeploy.Tests.Storage;

/// <summary>A grain state whose writes the test completes or fails one by one: each write is handed to the test with
/// the object being written, and storage holds it once the test lets the write succeed.</summary>
public sealed class ScriptedPersistentState<T>(T initial) : IPersistentState<T>
    where T : class
{
    readonly Channel<Write> _writes = Channel.CreateUnbounded<Write>();

    /// <summary>What storage holds: the object of the last write that succeeded (or the initial state, or one another
    /// writer left there).</summary>
    public T Stored { get; set; } = initial;

    public T State { get; set; } = initial;

    public string? Etag { get; set; }

    public bool RecordExists { get; set; }

    /// <summary>The next write the grain started, once it has.</summary>
    public async Task<Write> NextWriteAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _writes.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>A write was started since the last one the test took.</summary>
    public bool WriteWaiting => _writes.Reader.Count > 0;

    public Task WriteStateAsync() => WriteStateAsync(CancellationToken.None);

    public Task WriteStateAsync(CancellationToken cancellationToken)
    {
        var write = new Write(this, State);
        _writes.Writer.TryWrite(write);
        return write.Done.Task;
    }

    public Task ReadStateAsync() => ReadStateAsync(CancellationToken.None);

    public Task ReadStateAsync(CancellationToken cancellationToken)
    {
        State = Stored;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync() => ClearStateAsync(CancellationToken.None);

    public Task ClearStateAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    /// <summary>One write in flight: <see cref="Written"/> is the object handed to storage.</summary>
    public sealed class Write(ScriptedPersistentState<T> storage, T written)
    {
        public T Written => written;

        public TaskCompletionSource Done { get; } = new();

        public void Succeed()
        {
            storage.Stored = written;
            Done.SetResult();
        }

        public void Fail(Exception e) => Done.SetException(e);
    }
}
