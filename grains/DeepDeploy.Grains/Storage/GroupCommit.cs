using DeepDeploy.Contracts.Storage;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeepDeploy.Grains.Storage;

/// <summary>
/// <see cref="SavedState{T}"/>'s rule for a grain whose changing calls interleave, with their writes grouped. A change
/// is applied at once to <see cref="State"/> and its call returns once a write that started after the change has
/// completed. At most one write is in flight; the changes made while it runs are written together by the next, so N
/// concurrent changes cost a few writes instead of N queued ones.
/// The rule holds as in <see cref="SavedState{T}"/>: <see cref="State"/> is what storage holds plus the changes of the
/// calls in progress. A write that fails fails every call whose change it carried, and puts the state back to what
/// storage holds with the changes made since that write began replayed on top (their calls wait for the next write:
/// a failure never drops a change a later write carries). Changes marked <c>keep</c> are replayed too and go with the
/// next write. Every change must go through <see cref="ChangeAsync"/> (a direct one is lost at the next failure), and
/// must depend only on the state it is given, since it may be applied again.
/// The write serialises a copy: the storage provider may serialise off the grain's thread, while later turns change
/// <see cref="State"/>.
/// </summary>
public sealed class GroupCommit<T>(IPersistentState<T> state, DeepCopier<T> copier)
    where T : class
{
    /// <summary>The state as storage holds it (never changed: every write and read puts a new object here).</summary>
    T? _saved;

    /// <summary>What turns read and change: <see cref="_saved"/> plus the changes not yet written.</summary>
    T? _current;

    /// <summary>Changes applied since the write in flight began (or since the last write), in order; the next write's.</summary>
    List<(Action<T> Change, bool Keep)> _next = [];

    /// <summary>Completes when the write carrying <see cref="_next"/> completes; null while no caller waits for one.</summary>
    TaskCompletionSource? _nextDone;

    bool _writing;

    /// <summary>The state to read; change it only through <see cref="ChangeAsync"/>.</summary>
    public T State
    {
        get
        {
            if (_current is null)
            {
                _saved = state.State;
                _current = copier.Copy(_saved);
            }

            return _current;
        }
    }

    /// <summary>Applies <paramref name="change"/> and completes when a write that carries it has completed; throws
    /// <see cref="StorageUnavailableException"/> when that write failed. <paramref name="keep"/>: a failed write puts
    /// the change back (the next write carries it), for a change the grain must keep in memory whatever storage says.</summary>
    public Task ChangeAsync(Action<T> change, bool keep = false)
    {
        change(State);
        _next.Add((change, keep));
        var done = _nextDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_writing)
        {
            _ = WriteGroupsAsync();
        }

        return done.Task;
    }

    /// <summary>Writes until no caller waits: each round takes every change made so far.</summary>
    async Task WriteGroupsAsync()
    {
        _writing = true;
        while (_nextDone is { } done)
        {
            var group = _next;
            _next = [];
            _nextDone = null;
            var written = copier.Copy(State);
            state.State = written;
            try
            {
                await state.WriteStateAsync();
                _saved = written;
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(await FailedAsync(e, group));
            }
        }

        _writing = false;
    }

    /// <summary>Back to what storage holds, then the kept changes of the failed group and every change made since.</summary>
    async Task<Exception> FailedAsync(Exception failure, List<(Action<T> Change, bool Keep)> group)
    {
        var reread = failure is InconsistentStateException && await TryRereadAsync();
        _next = [.. group.Where(c => c.Keep), .. _next];
        _current = copier.Copy(_saved!);
        foreach (var (change, _) in _next)
        {
            change(_current);
        }

        // Without the cause: a driver's exception may not serialise to a client; the storage provider logged it.
        return new StorageUnavailableException(reread
            ? "The stored state changed underneath this change; it was not saved."
            : "Storage is unavailable: the change was not saved.");
    }

    /// <summary>Storage answered but holds a newer version (an earlier write that timed out did land): take it.</summary>
    async Task<bool> TryRereadAsync()
    {
        try
        {
            await state.ReadStateAsync();
            _saved = state.State;
            return true;
        }
        catch (Exception)
        {
            // Still the old version: the next write meets the conflict again and reads again.
            return false;
        }
    }
}
