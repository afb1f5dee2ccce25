using System.Text.Json;
using System.Net;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Billing;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Events;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Grains.Users;
using DeepDeploy.Silo.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Production;

/// <summary>
/// Every persisted grain state type, fully populated, written (insert, then update) through the DeepDeploy
/// storage provider under its grain's real type and state name, and read back by a NEW cluster: on SQLite
/// (embedded) and on PostgreSQL (production).
/// The ADO.NET provider stores state as JSON with type names (its default serializer), so the samples use the
/// concrete collection types the grains and the gateway really store (arrays, List, Dictionary): a non-empty
/// collection expression typed as an interface (IReadOnlyList) is a compiler-made type that JSON cannot read back.
/// </summary>
public sealed class GrainStateRoundTripTests
{
    [Fact]
    public async Task Every_grain_state_round_trips_on_sqlite()
    {
        var directory = Directory.CreateTempSubdirectory("deepdeploy-roundtrip-").FullName;
        var connectionString = $"Data Source={Path.Combine(directory, "state.db")}";
        try
        {
            await RoundTripAsync(silo => silo.AddDeepDeploySqliteStorage(StorageNames.Default, connectionString));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [PostgresFact]
    public async Task Every_grain_state_round_trips_on_postgres()
    {
        await using var database = await TestDatabase.CreateAsync();
        await PostgresSchema.EnsureCreatedAsync(database.ConnectionString);
        await RoundTripAsync(silo => silo.AddDeepDeployPostgresStorage(StorageNames.Default, database.ConnectionString));
    }

    /// <summary>One state: its grain, state name and two successive values.</summary>
    sealed record Case(string Name, Func<IGrainStorage, Task> Write, Func<IGrainStorage, Task> Verify);

    static readonly SiloAddress Silo = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 11111), 42);

    static Case Make<T>(string grainType, string key, string stateName, T first, T second) where T : class, new()
    {
        var id = GrainId.Create(grainType, key);
        return new Case(typeof(T).Name,
            async storage =>
            {
                var state = new GrainState<T>(first);
                await storage.WriteStateAsync(stateName, id, state);
                Assert.Equal("1", state.ETag);
                state.State = second;
                await storage.WriteStateAsync(stateName, id, state);
                Assert.Equal("2", state.ETag);
            },
            async storage =>
            {
                var read = new GrainState<T>(new T());
                await storage.ReadStateAsync(stateName, id, read);
                Assert.True(read.RecordExists, $"{typeof(T).Name} was not found");
                Assert.Equal("2", read.ETag);
                Assert.Equal(Json(second), Json(read.State!));
                Assert.NotEqual(Json(new T()), Json(read.State!));
            });
    }

    static string Json(object value) => JsonSerializer.Serialize(value, value.GetType());

    static IEnumerable<Case> Cases()
    {
        var t0 = new DateTimeOffset(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);
        var spec = new DeploymentSpec("ivy", "tiny", "H100-80GB", 2, 64, "deepdeploy/tiny-llama-gguf", "main",
            "CfDJ8-protected-token", 1, 3, new[] { "--ctx-size", "4096" });
        yield return Make("deployment", "0123456789abcdef0123", "deployment",
            new DeploymentState { Spec = spec, Status = DeploymentStatus.Initializing, CreatedAt = t0, UpdatedAt = t0 },
            new DeploymentState
            {
                Spec = spec,
                Status = DeploymentStatus.Failed,
                FailReason = "instance failed 3 times in a row: engine exited with code 134",
                CreatedAt = t0,
                UpdatedAt = t0.AddMinutes(5),
                Commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
                WeightsFile = "tiny-llama.gguf",
                NextInstance = 4,
                Instances = new()
                {
                    ["0123456789abcdef0123-3"] = new InstanceRecord { Id = "0123456789abcdef0123-3", Node = "gpu-a", Phase = InstancePhase.Running, Endpoint = "http://10.0.0.7:41234", Message = "ok", Seq = 3, Silo = Silo, RunningSince = t0 },
                    ["0123456789abcdef0123-4"] = new InstanceRecord { Id = "0123456789abcdef0123-4", Node = "gpu-b", Phase = InstancePhase.Downloading, Stopping = true, Seq = 4, DrainUntil = t0, StopSentAt = t0 },
                },
                ConsecutiveFailures = 3,
                Suspended = true,
                TroubledNodes = new() { ["gpu-c"] = t0 },
                RecentNodes = ["gpu-c", "gpu-a"],
            });

        var gpus = new GpuDevice[] { new(0, "A100-80GB", 81920), new(1, "A100-80GB", 81920), new(2, "H100-80GB", 81559) };
        yield return Make("gpunode", "gpu-a", "node",
            new GpuNodeState { Info = new NodeInfo("gpu-a", true, gpus[..1]) },
            new GpuNodeState
            {
                Info = new NodeInfo("gpu-a", false, gpus),
                Allocations = new() { ["d-1"] = new NodeAllocation("d-1", "dep", new[] { 0, 1 }, Silo, "ivy/tiny"), ["d-2"] = new NodeAllocation("d-2", "dep2", new[] { 2 }, null) },
            });

        yield return Make("noderegistry", "cluster", "registry",
            new NodeRegistryState { Nodes = new() { ["gpu-a"] = new NodeCapacity("gpu-a", true, new Dictionary<string, int> { ["A100-80GB"] = 1 }, new Dictionary<string, int> { ["A100-80GB"] = 1 }, null) } },
            new NodeRegistryState
            {
                Nodes = new()
                {
                    ["gpu-a"] = new NodeCapacity("gpu-a", false, new Dictionary<string, int> { ["A100-80GB"] = 2, ["H100-80GB"] = 1 }, new Dictionary<string, int> { ["A100-80GB"] = 0, ["H100-80GB"] = 1 }, Silo),
                    ["gpu-b"] = new NodeCapacity("gpu-b", true, new Dictionary<string, int> { ["L4-24GB"] = 8 }, new Dictionary<string, int> { ["L4-24GB"] = 5 }, null),
                },
            });

        yield return Make("userquota", "ivy", "user",
            new UserQuotaState { Exists = true, GpuLimit = 4, CreatedAt = t0 },
            new UserQuotaState
            {
                Exists = true,
                GpuLimit = 8,
                CreatedAt = t0,
                Reservations = new() { ["0123456789abcdef0123-3"] = 2, ["fedcba-1"] = 1 },
                ModelNames = new() { ["tiny"] = "0123456789abcdef0123", ["other"] = "fedcba" },
                Deployments = ["0123456789abcdef0123", "fedcba", "gone"],
            });

        yield return Make("userdirectory", "users", "users",
            new UserDirectoryState { TokenHashes = new() { ["ivy"] = new string('a', 64) } },
            new UserDirectoryState { TokenHashes = new() { ["ivy"] = new string('a', 64), ["jack"] = new string('b', 64), ["ümlaut-user"] = new string('c', 64) } });

        var placed = new DeploymentEvent(0, t0, DeploymentEventKind.Placed, "0123456789abcdef0123", "instance placed") { Owner = "ivy", Node = "gpu-a", Gpus = new[] { 0, 3 }, InstanceId = "x-1" };
        yield return Make("eventlog", "0123456789abcdef0123", "events",
            new EventLogState { Events = [placed with { Sequence = 1 }], LastSequence = 1 },
            new EventLogState
            {
                Events =
                [
                    placed with { Sequence = 1 },
                    new DeploymentEvent(2, t0.AddSeconds(1), DeploymentEventKind.StatusChanged, "0123456789abcdef0123", "running -> failed")
                    {
                        FromStatus = DeploymentStatus.Running, ToStatus = DeploymentStatus.Failed, FailureReason = "engine exited", Phase = InstancePhase.Failed, RestartCount = 2,
                        Load = 5, Instances = 1, Target = 2, Reason = "load", MinInstancesBefore = 1, MaxInstancesBefore = 1, MinInstancesAfter = 1, MaxInstancesAfter = 2,
                    },
                ],
                LastSequence = 2,
            });

        var start = new MeterStart("0123456789abcdef0123-3", "0123456789abcdef0123", "ivy/model", "A100-80GB", 2, 2.00m, t0);
        yield return Make("billingledger", "ivy", "ledger",
            new BillingLedgerState { Meters = new() { [start.InstanceId] = new Meter { Start = start, OpenSince = t0, LastRenewed = t0 } } },
            new BillingLedgerState
            {
                Meters = new()
                {
                    [start.InstanceId] = new Meter { Start = start, Segments = [new MeterSegment(t0, t0.AddHours(1))], LastRenewed = t0.AddHours(1), Stopped = true },
                    ["x-1"] = new Meter { Start = start with { InstanceId = "x-1", UsdPerGpuHour = 3.1234567m }, OpenSince = t0.AddHours(2), LastRenewed = t0.AddHours(3) },
                },
                LimitUsd = 123.45m,
                Events = [new BillingEvent(t0, "warning", "Spent 99 USD: 80% of the 123.45 USD monthly limit.")],
                WarnedPeriod = t0,
                ReachedPeriod = null,
            });
    }

    static async Task RoundTripAsync(Action<ISiloBuilder> addStorage)
    {
        var serviceId = "roundtrip-" + Guid.NewGuid().ToString("N");
        var cases = Cases().ToList();
        Assert.Equal(7, cases.Count);

        await using (var cluster = await StartAsync(serviceId, addStorage))
        {
            var storage = Storage(cluster);
            foreach (var c in cases)
            {
                await c.Write(storage);
            }

            await cluster.StopAllSilosAsync();
        }

        await using (var cluster = await StartAsync(serviceId, addStorage))
        {
            var storage = Storage(cluster);
            foreach (var c in cases)
            {
                await c.Verify(storage);
            }

            await cluster.StopAllSilosAsync();
        }
    }

    static async Task<InProcessTestCluster> StartAsync(string serviceId, Action<ISiloBuilder> addStorage)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) => addStorage(silo));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static IGrainStorage Storage(InProcessTestCluster cluster) =>
        cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
}
