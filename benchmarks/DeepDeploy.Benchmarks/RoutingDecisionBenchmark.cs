using BenchmarkDotNet.Attributes;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// The routing decision alone, with 64 instances in one deployment: the pipeline's pick (filters, scorers, picker)
/// and a whole admission (lane lock, pick, lease, release) per policy. Instances carry uneven load, a few are
/// excluded or refused recently, so that every filter and scorer does real work. Requests are chat bodies with one of
/// <see cref="Prompts"/> system prompts of about 6 KB (some 1,500 tokens), which the prefix policy hashes (in
/// <c>AcquireAndRelease</c>, before the lane's lock, as the gateway does) and has seen before.
/// </summary>
[MemoryDiagnoser]
public class RoutingDecisionBenchmark
{
    public const int Instances = 64;

    public const int Prompts = 20;

    /// <summary>One chat body per system prompt, each with its own question.</summary>
    public static readonly byte[][] Bodies = [.. Enumerable.Range(0, Prompts).Select(p => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
    {
        model = "bench/m",
        messages = new object[]
        {
            new { role = "system", content = $"Tenant {p}. " + string.Join(' ', Enumerable.Range(0, 700).Select(w => $"w{(w * 7 + p) % 97}")) },
            new { role = "user", content = $"Question {p}: what does the policy say?" },
        },
        max_tokens = 64,
        stream = true,
    }))];

    DeploymentLane _lane = null!;
    InstanceSlot[] _slots = [];
    InstanceSlot[] _buffer = [];
    RoutingPolicy _policy = null!;
    RoutingContext _context;

    [Params("least-loaded", "round-robin", "random", "prefix")]
    public string Policy { get; set; } = "least-loaded";

    [GlobalSetup]
    public void Setup()
    {
        _policy = RoutingPolicies.Find(Policy)!;
        (_lane, _slots) = LoadedLane(_policy);
        _buffer = new InstanceSlot[_slots.Length];
        _context = new RoutingContext(TimeProvider.System.GetTimestamp(), TimeProvider.System.TimestampFrequency, new LaneRoutingState(),
            Bodies[0], PrefixBlocks.For(_policy, Bodies[0]));
    }

    /// <summary>Filters, scorers and picker over 64 instances.</summary>
    [Benchmark(Baseline = true)]
    public InstanceSlot? Pick() => _policy.Pick(_slots, _buffer, _context);

    /// <summary>A whole admission without waiting: the lane's lock, the pick, the lease, its release.</summary>
    [Benchmark]
    public void AcquireAndRelease()
    {
        var admission = _lane.AcquireAsync(_policy, Bodies[0], retry: false, CancellationToken.None);
        admission.Result.Lease!.Release();
    }

    /// <summary>A lane of <see cref="Instances"/> instances with max_batch_size 64, about half their slots in use,
    /// one in eight excluded and one in eight recently refused busy.</summary>
    public static (DeploymentLane Lane, InstanceSlot[] Slots) LoadedLane(RoutingPolicy policy)
    {
        var route = new DeploymentRoute("d1", "bench/m", DeploymentStatus.Running, 64, 0,
            Enumerable.Range(0, Instances).Select(i => new RouteInstance($"i{i}", $"http://10.0.0.{i}:8000")).ToArray(), 1);
        var lane = new DeploymentLane(route, new InferenceOptions { MaxConcurrentRequests = 100_000 }, TimeProvider.System, _ => { })
        {
            Policy = policy,
        };
        lane.Update(route, 0, 1);
        var random = new Random(42);
        var leases = Enumerable.Range(0, Instances * 32)
            .Select(i => lane.AcquireAsync(policy, Bodies[i % Prompts], retry: false, default).Result.Lease!).ToList();
        foreach (var lease in leases.Where(_ => random.Next(3) == 0))
        {
            lease.Release();
        }

        var slots = lane.Instances.ToArray();
        for (var i = 0; i < slots.Length; i += 8)
        {
            lane.Exclude(slots[i], TimeSpan.FromHours(1));
            lane.Saturated(slots[i + 1], TimeSpan.FromMilliseconds(250));
        }

        return (lane, slots);
    }
}
