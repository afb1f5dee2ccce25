using DeepDeploy.Contracts.Storage;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeepDeploy.Tests.Storage;

/// <summary>The registry's group commit on a storage whose writes the test completes: changes made while a write is in
/// flight share the next one, every call returns only after a write that carried its change, a failed write fails
/// its calls and drops no later change. Every change runs as a grain turn would: one at a time, on one scheduler.</summary>
[Trait("Category", "Unit")]
public sealed class GroupCommitTests
{
    static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    static readonly DeepCopier<NodeRegistryState> Copier = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(NodeRegistryState).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<DeepCopier<NodeRegistryState>>();

    /// <summary>The grain's scheduler: one turn at a time.</summary>
    readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    readonly ScriptedPersistentState<NodeRegistryState> _storage = new(new NodeRegistryState());

    readonly GroupCommit<NodeRegistryState> _commit;

    public GroupCommitTests() => _commit = new GroupCommit<NodeRegistryState>(_storage, Copier);

    /// <summary>Changes the state in a turn of its own (a call to the grain); the task completes when the call returns.</summary>
    Task<Task> Change(string node, bool keep = false) =>
        Task.Factory.StartNew(() => _commit.ChangeAsync(s => s.Lost[node] = At, keep), CancellationToken.None, TaskCreationOptions.None, _turns);

    Task<string[]> Current() =>
        Task.Factory.StartNew(() => _commit.State.Lost.Keys.Order(StringComparer.Ordinal).ToArray(), CancellationToken.None, TaskCreationOptions.None, _turns);

    static string[] Keys(NodeRegistryState state) => [.. state.Lost.Keys.Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Changes_made_during_a_write_share_the_next_one_and_return_only_after_it()
    {
        var a = await Change("a");
        var first = await _storage.NextWriteAsync();
        var b = await Change("b");
        var c = await Change("c");
        Assert.False(_storage.WriteWaiting, "a second write started while the first was in flight");
        Assert.Equal(["a"], Keys(first.Written));

        first.Succeed();
        await a;
        var second = await _storage.NextWriteAsync();
        Assert.False(b.IsCompleted, "b returned before a write that started after its change");
        Assert.False(c.IsCompleted);
        Assert.Equal(["a", "b", "c"], Keys(second.Written));

        second.Succeed();
        await Task.WhenAll(b, c);
        Assert.False(_storage.WriteWaiting, "a write with nothing to carry");
        Assert.Equal(["a", "b", "c"], Keys(_storage.Stored));
    }

    [Fact]
    public async Task The_write_in_flight_is_a_copy_later_turns_do_not_change()
    {
        await Change("a");
        var first = await _storage.NextWriteAsync();
        await Change("b");
        Assert.Equal(["a"], Keys(first.Written));
        Assert.Equal(["a", "b"], await Current());
    }

    [Fact]
    public async Task A_failed_write_fails_its_calls_and_keeps_the_changes_made_since()
    {
        var a = await Change("a");
        var first = await _storage.NextWriteAsync();
        var b = await Change("b");

        first.Fail(new StorageUnavailableException("down"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => a);
        var second = await _storage.NextWriteAsync();
        Assert.Equal(["b"], Keys(second.Written));
        Assert.Equal(["b"], await Current());

        second.Succeed();
        await b;
        Assert.Equal(["b"], Keys(_storage.Stored));
    }

    [Fact]
    public async Task After_a_failure_with_nobody_waiting_the_state_is_what_storage_holds_and_the_next_change_writes_again()
    {
        var a = await Change("a");
        (await _storage.NextWriteAsync()).Fail(new TimeoutException());
        await Assert.ThrowsAsync<StorageUnavailableException>(() => a);
        Assert.Empty(await Current());
        Assert.False(_storage.WriteWaiting);

        var b = await Change("b");
        var next = await _storage.NextWriteAsync();
        Assert.Equal(["b"], Keys(next.Written));
        next.Succeed();
        await b;
    }

    [Fact]
    public async Task A_kept_change_survives_its_failed_write_and_goes_with_the_next()
    {
        var lost = await Change("lost", keep: true);
        (await _storage.NextWriteAsync()).Fail(new StorageUnavailableException("down"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => lost);
        Assert.Equal(["lost"], await Current());

        var b = await Change("b");
        var next = await _storage.NextWriteAsync();
        Assert.Equal(["b", "lost"], Keys(next.Written));
        next.Succeed();
        await b;
    }

    [Fact]
    public async Task A_version_conflict_takes_what_storage_holds_and_replays_the_changes_made_since()
    {
        var a = await Change("a");
        var first = await _storage.NextWriteAsync();
        var b = await Change("b");

        _storage.Stored = new NodeRegistryState { Lost = { ["z"] = At } };
        first.Fail(new InconsistentStateException("newer version"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => a);
        var second = await _storage.NextWriteAsync();
        Assert.Equal(["b", "z"], Keys(second.Written));
        second.Succeed();
        await b;
    }
}
