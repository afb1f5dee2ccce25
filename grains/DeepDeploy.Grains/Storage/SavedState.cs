using DeepDeploy.Contracts.Storage;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeepDeploy.Grains.Storage;

/// <summary>
/// A grain's persisted state under one rule: what the activation holds is what storage holds plus the changes of
/// the turn in progress. A write that fails puts back the last state read or written and throws
/// <see cref="StorageUnavailableException"/>, so no caller and no later turn ever sees a change that was not saved.
/// Changes a grain keeps in memory on purpose between writes (download progress, billing renewals checkpointed
/// later) are dropped with it; they are recomputed from the next report.
/// </summary>
public sealed class SavedState<T>(IPersistentState<T> state, DeepCopier<T> copier)
    where T : class
{
    /// <summary>A copy of the state as storage holds it, taken at the first access (before any change).</summary>
    T? _saved;

    /// <summary>The state to read and change; every access goes through here, so the first one remembers it as read.</summary>
    public T State
    {
        get
        {
            _saved ??= copier.Copy(state.State);
            return state.State;
        }
    }

    /// <summary>Writes the state; on failure the activation is left as storage holds it and the call throws.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (InconsistentStateException)
        {
            // Storage answered but holds a newer version (an earlier write that timed out did land): take it.
            await RereadAsync();
            throw new StorageUnavailableException("The stored state changed underneath this change; it was not saved.");
        }
        catch (Exception e)
        {
            state.State = copier.Copy(_saved ?? throw new InvalidOperationException("the state was changed without going through SavedState.State", e));
            // Without the cause: a driver's exception may not serialise to a client; the storage provider logged it.
            throw new StorageUnavailableException("Storage is unavailable: the change was not saved.");
        }

        _saved = copier.Copy(state.State);
    }

    async Task RereadAsync()
    {
        await state.ReadStateAsync();
        _saved = copier.Copy(state.State);
    }
}
