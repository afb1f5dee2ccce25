using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Storage;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DeepDeploy.Tests.Storage;

/// <summary><see cref="SavedState{T}.WriteIfChangedAsync"/> on a storage whose writes the test completes: a pass that
/// changed nothing writes nothing (a deployment's tick wrote its unchanged state every 2 s), any change is written, and
/// after a failed write the state is what storage holds, so nothing is left to write.</summary>
[Trait("Category", "Unit")]
public sealed class SavedStateTests
{
    static readonly IServiceProvider Services = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(DeploymentState).Assembly))
        .BuildServiceProvider();

    readonly ScriptedPersistentState<DeploymentState> _storage = new(new DeploymentState { Status = DeploymentStatus.Running });

    readonly SavedState<DeploymentState> _store;

    public SavedStateTests() => _store = new SavedState<DeploymentState>(_storage,
        Services.GetRequiredService<DeepCopier<DeploymentState>>(), Services.GetRequiredService<Serializer<DeploymentState>>());

    [Fact]
    public async Task An_unchanged_state_is_not_written_and_a_changed_one_is()
    {
        _store.State.RefreshStatus(DateTimeOffset.UnixEpoch);
        await _store.WriteIfChangedAsync();
        Assert.False(_storage.WriteWaiting, "an unchanged state was written");

        _store.State.Instances["d-1"] = new InstanceRecord { Id = "d-1", Node = "n", Phase = InstancePhase.Placed, Seq = 1 };
        var write = _store.WriteIfChangedAsync();
        (await _storage.NextWriteAsync()).Succeed();
        await write;

        _store.State.Instances["d-1"].Phase = InstancePhase.Placed;
        await _store.WriteIfChangedAsync();
        Assert.False(_storage.WriteWaiting, "the state just written was written again");

        _store.State.Instances["d-1"].Phase = InstancePhase.Running;
        var second = _store.WriteIfChangedAsync();
        (await _storage.NextWriteAsync()).Succeed();
        await second;
        Assert.Equal(InstancePhase.Running, _storage.Stored.Instances["d-1"].Phase);
    }

    [Fact]
    public async Task After_a_failed_write_the_state_is_what_storage_holds_and_nothing_is_left_to_write()
    {
        _store.State.NextInstance = 3;
        var write = _store.WriteIfChangedAsync();
        (await _storage.NextWriteAsync()).Fail(new IOException("disk gone"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => write);

        Assert.Equal(0, _store.State.NextInstance);
        await _store.WriteIfChangedAsync();
        Assert.False(_storage.WriteWaiting);
    }
}
