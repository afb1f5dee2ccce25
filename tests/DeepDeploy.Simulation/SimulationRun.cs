using System.Diagnostics;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Simulation.Engine;
using DeepDeploy.Simulation.Gateway;
using DeepDeploy.Simulation.Metrics;
using DeepDeploy.Simulation.Workload;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace DeepDeploy.Simulation;

/// <summary>
/// One simulation: a TestingHost cluster of simulated GPU nodes running the production grains, simulated gateways
/// on the real routing types, the deployments of <see cref="DeploymentPlan.Mix"/>, a workload replayed against
/// them; at the end every deployment is deleted so that every meter closes and billing can be compared with what
/// the engines served.
/// </summary>
public static class SimulationRun
{
    public static async Task<SimulationResult> RunAsync(SimulationOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        var real = Stopwatch.StartNew();
        var clock = new SimClock(options.Compression);
        var c = options.Compression;
        var fleet = new EngineFleet();
        var calls = new CallLatencyFilter();
        var arrivals = new RouteArrivals(clock) { Gateways = options.Gateways };
        var model = LatencyModel.Load(options.LatencyModel);
        var plans = DeploymentPlan.Mix(options);
        var trace = options.Trace is null ? null : TraceWorkload.Read(options.Trace);

        log($"starting {options.Silos} silos with {options.Nodes} nodes × {options.GpusPerNode} GPUs");
        await using var cluster = await SimulatedCluster.StartAsync(new SimulatedClusterOptions
        {
            Silos = options.Silos,
            Nodes = options.Nodes,
            GpusPerNode = options.GpusPerNode,
            GpuTypes = options.GpuTypes,
            Simulation = new NodeSimulation(clock, model, fleet, options.Heartbeats),
            InMemoryStorage = options.InMemoryStorage,
            Autoscaler = o =>
            {
                o.ScaleDownCooldown /= c;
                o.IdleBeforeScaleToZero /= c;
                o.DrainDelay /= c;
            },
            Silo = silo =>
            {
                silo.AddIncomingGrainCallFilter(calls);
                // Every silo shares one process, so a missed probe is CPU starvation, never a dead silo: a silo
                // declared dead mid-run (seen at 1,000 nodes on 2 cores) would end the simulation, not measure it.
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(30);
                    o.NumMissedProbesLimit = 10;
                });
            },
            Client = client => client.AddIncomingGrainCallFilter(arrivals).AddOutgoingGrainCallFilter(arrivals),
        });
        var grains = cluster.Grains;
        var registry = grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        await cluster.NodesRegistered.WaitAsync(TimeSpan.FromSeconds(60 + options.Nodes / 2.0));
        var registered = (await registry.List()).Count;
        if (registered != options.Nodes)
        {
            throw new InvalidOperationException($"{registered} of {options.Nodes} nodes in the registry after every registration returned");
        }

        log($"cluster up with {options.Nodes} nodes after {real.Elapsed.TotalSeconds:F1} s; starting {options.Gateways} gateways");

        var inference = new InferenceOptions
        {
            QueueTimeout = new InferenceOptions().QueueTimeout / c,
            ColdStartTimeout = new InferenceOptions().ColdStartTimeout / c,
            LoadReportInterval = new InferenceOptions().LoadReportInterval / c,
            UnhealthyCooldown = new InferenceOptions().UnhealthyCooldown / c,
        };
        var gateways = await Task.WhenAll(Enumerable.Range(0, options.Gateways)
            .Select(i => SimulatedGateway.StartAsync(i, grains, inference, fleet, clock, arrivals)));
        try
        {
            foreach (var user in plans.Select(p => p.User).Distinct())
            {
                await cluster.CreateUserAsync(user, options.UserGpuLimit, maxDeployments: options.Deployments);
            }

            log($"creating {plans.Count} deployments");
            var created = 0;
            await Parallel.ForEachAsync(plans, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (plan, _) =>
            {
                var id = DeploymentIds.New();
                plan.CreatedAt = clock.Now;
                var started = Stopwatch.GetTimestamp();
                var result = await grains.GetGrain<IDeploymentGrain>(id).Create(new NewDeployment(
                    new DeploymentSpec(plan.User, plan.Name, plan.Gpu, plan.NumGpus, plan.MaxBatchSize, "sim/model", null, null, plan.Min, plan.Max, []), null));
                plan.DeployId = result.Error is null ? id : null;
                plan.Refused = result.Error?.Message;
                plan.CreateMilliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (Interlocked.Increment(ref created) % 250 == 0)
                {
                    log($"{created} create calls answered after {real.Elapsed.TotalSeconds:F1} s");
                }
            });
            var live = plans.Where(p => p.DeployId is not null).ToArray();
            await Eventually.TrueAsync(() => gateways.All(g => live.All(p => g.Table.Find(p.Model) is not null)),
                TimeSpan.FromSeconds(60 + live.Length / 10), "every deployment routed at every gateway");

            var models = live.Select(p => p.Model).ToArray();
            var duration = options.Minutes * 60;
            var requests = trace is null
                ? new SyntheticWorkload { Rate = options.Rate ?? 0.2 * models.Length, DurationSeconds = duration, Seed = options.Seed }.Generate(models)
                : TraceWorkload.Bind(trace, models).Where(r => r.At < duration).ToArray();
            log($"{live.Length} deployments created ({plans.Count - live.Length} refused) after {real.Elapsed.TotalSeconds:F1} s; replaying {requests.Count} requests over {duration:F0} simulated s");

            var start = clock.Now;
            var samples = new List<Sample>();
            using var stopSampling = new CancellationTokenSource();
            var sampler = SampleAsync(clock, start, options.SampleSeconds, registry, fleet, gateways, samples, stopSampling.Token);
            var random = new Random(options.Seed);
            var pending = new List<Task<RequestOutcome>>(requests.Count);
            foreach (var request in requests)
            {
                await clock.UntilAsync(start + request.At);
                pending.Add(SendAsync(gateways[random.Next(gateways.Length)], request, start));
            }

            var outcomes = await Task.WhenAll(pending);
            await stopSampling.CancelAsync();
            await sampler;
            log($"workload done after {real.Elapsed.TotalSeconds:F1} s; deleting the deployments");

            await Parallel.ForEachAsync(live, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (plan, _) =>
                await grains.GetGrain<IDeploymentGrain>(plan.DeployId!).Delete());
            await Eventually.TrueAsync(() => fleet.All.All(e => e.StoppedAt is not null && (e.ServingSince is null || e.ExitReported is not null)),
                TimeSpan.FromSeconds(60 + live.Length / 10), "every engine stopped and its exit reported");
            // Asks only the deployments not yet seen empty: 2,000 calls per poll would be the load this wait measures.
            var holding = live.Select(p => p.DeployId!).ToHashSet(StringComparer.Ordinal);
            await Eventually.TrueAsync(async () =>
            {
                var ids = holding.ToArray();
                var views = await Task.WhenAll(ids.Select(id => grains.GetGrain<IDeploymentGrain>(id).Get()));
                holding.ExceptWith(ids.Where((_, i) => views[i] is null or { RunningInstances: 0, PendingInstances: 0 }));
                return holding.Count == 0;
            }, TimeSpan.FromSeconds(60), "every deployment without instances");

            double billedSeconds = 0;
            decimal billedUsd = 0;
            foreach (var user in plans.Select(p => p.User).Distinct())
            {
                var usage = await grains.GetGrain<IBillingLedgerGrain>(user).GetUsage(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                billedSeconds += (double)usage.Lines.Sum(l => l.GpuSeconds);
                billedUsd += usage.TotalUsd;
            }

            var engines = fleet.All.ToArray();
            var owners = live.ToDictionary(p => p.DeployId!, p => p.User, StringComparer.Ordinal);
            return new SimulationResult
            {
                Options = options,
                Deployments = plans,
                Requests = requests.Count,
                Outcomes = outcomes.Select(o => o with { Arrival = o.Arrival - start }).ToArray(),
                Engines = engines,
                Samples = samples,
                Calls = calls.Snapshot(),
                CreateToScheduledMilliseconds = new Percentiles(live.Where(p => p.Min > 0).Select(p =>
                    engines.Where(e => e.DeployId == p.DeployId).Select(e => e.LaunchedAt).Order().Skip(p.Min - 1).FirstOrDefault(double.NaN))
                    .Zip(live.Where(p => p.Min > 0), (launched, p) => (launched - p.CreatedAt) / c * 1000).Where(ms => !double.IsNaN(ms))),
                RouteToAllGatewaysMilliseconds = new Percentiles(engines.Where(e => e.ServingSince is not null)
                    .Select(e => arrivals.AllKnew(e.InstanceId) - e.ServingSince!.Value).OfType<double>().Select(s => s / c * 1000)),
                BilledGpuSeconds = billedSeconds * c,
                BilledUsd = billedUsd * (decimal)c,
                PeakUserGpus = engines.GroupBy(e => owners[e.DeployId]).ToDictionary(g => g.Key, g => PeakConcurrent(g), StringComparer.Ordinal),
                WorkloadStart = start,
                RealDuration = real.Elapsed,
            };
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                await gateway.DisposeAsync();
            }
        }
    }

    static async Task<RequestOutcome> SendAsync(SimulatedGateway gateway, WorkloadRequest request, double start)
    {
        try
        {
            return await gateway.SendAsync(request);
        }
        catch (Exception e)
        {
            return new RequestOutcome(start + request.At, request.Model, gateway.Index, "exception: " + e.GetType().Name, 0, double.NaN, 0);
        }
    }

    /// <summary>The most GPUs held at once by these engines (launch to stop).</summary>
    static int PeakConcurrent(IEnumerable<SimulatedEngine> engines)
    {
        // Stops sort before launches at the same instant: a GPU handed over is not counted twice.
        var events = engines.SelectMany(e => new[] { (At: e.LaunchedAt, Delta: e.NumGpus), (At: e.StoppedAt ?? double.MaxValue, Delta: -e.NumGpus) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        int held = 0, peak = 0;
        foreach (var (_, delta) in events)
        {
            held += delta;
            peak = Math.Max(peak, held);
        }

        return peak;
    }

    static async Task SampleAsync(SimClock clock, double start, double every, INodeRegistryGrain registry, EngineFleet fleet,
        IReadOnlyList<SimulatedGateway> gateways, List<Sample> samples, CancellationToken cancellationToken)
    {
        try
        {
            for (var next = start; !cancellationToken.IsCancellationRequested; next += every)
            {
                await clock.UntilAsync(next, cancellationToken);
                var nodes = await registry.List();
                var now = clock.Now;
                var engines = fleet.All.Where(e => e.StoppedAt is null).ToArray();
                var free = nodes.Select(n => (Free: n.Free.Values.Sum(), Total: n.Total.Values.Sum())).ToArray();
                var freeGpus = free.Sum(n => n.Free);
                var stranded = free.Where(n => n.Free > 0 && n.Free < n.Total).Sum(n => n.Free);
                var lanes = gateways.SelectMany(g => g.Table.Lanes).ToArray();
                samples.Add(new Sample(now - start, engines.Count(e => e.Serving), engines.Sum(e => e.NumGpus), freeGpus,
                    free.Count(n => n.Free == n.Total), freeGpus == 0 ? 0 : (double)stranded / freeGpus,
                    lanes.Sum(l => l.InFlight), lanes.Sum(l => l.Waiting)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
