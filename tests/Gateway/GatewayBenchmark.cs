using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Telemetry;
using DeepDeploy.Tests.Worker;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// The gateway against the same workers reached directly, through nginx round-robin and through a bare
/// Kestrel+YARP pass-through (the floor, <see cref="FloorProcess"/>). The gateway is the product as shipped, the
/// all-in-one silo exe as a process of its own (<see cref="ShippedSilo"/>), not a host inside this test process.
/// Workers run the fake engine (a test double, no model compute) so that the proxies dominate. Not a test: runs
/// only with DEEPDEPLOY_BENCH=1 (see the README); prints the figures and writes bench-results/gateway.txt.
/// <list type="number">
/// <item>Proxy overhead: closed loop, non-streaming chat completions of 16 tokens generated at once, at 1 and 64
/// concurrent requests, to 2 workers; req/s and latency p50/p99 for direct (client-side round-robin), nginx and
/// the gateway (auth, routing table, admission, YARP).</item>
/// <item>Skewed load: open loop (Poisson arrivals) at about 80% of capacity, 80% short (4 tokens) and 20% long
/// (100 tokens) generations at 100 tokens/s per sequence, 2 instances × max_batch_size 4; p50/p99 of the gateway
/// (least loaded + queue) and of nginx round-robin to workers that queue beyond their batch.</item>
/// <item>Telemetry overhead (its own fact, bench-results/gateway-telemetry.txt): gateway throughput with
/// OpenTelemetry on and off, in a balanced order.</item>
/// </list>
/// </summary>
[Trait("Category", "Benchmark")]
[Collection(SystemCollection.Name)]
public sealed partial class GatewayBenchmark(ITestOutputHelper output)
{
    static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    static readonly TimeSpan Measure = TimeSpan.FromSeconds(8);
    static readonly TimeSpan SkewDuration = TimeSpan.FromSeconds(45);

    readonly StringBuilder _report = new();

    [BenchmarkFact]
    public async Task Gateway_against_direct_and_nginx()
    {
        Line($"DeepDeploy gateway benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z, {Environment.ProcessorCount} cores, load generator, gateway and workers on this machine");
        if (NginxProcess.Binary is null)
        {
            Line("nginx: not installed (apt-get install nginx); nginx columns skipped");
        }

        await ProxyOverheadAsync();
        if (SkewRuns > 0)
        {
            await SkewedLoadAsync();
        }

        var dir = Path.Combine(RepoRoot(), "bench-results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway.txt"), _report.ToString());
    }

    /// <summary>3. Telemetry overhead: the gateway's throughput with OpenTelemetry off
    /// (DeepDeploy:Telemetry:Enabled=false), with metrics only (the default without an OTLP endpoint: no spans are
    /// recorded) and with traces too (default sampling, spans exported over OTLP/HTTP to a collector on loopback),
    /// in a balanced order, in one run.</summary>
    [BenchmarkFact]
    public async Task Gateway_with_telemetry_on_and_off()
    {
        Line($"DeepDeploy gateway telemetry overhead {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z, {Environment.ProcessorCount} cores");
        Line("3. Telemetry overhead: fake engine at no delay, 16 tokens, 2 workers, closed loop c=64, 8 s per run after 2 s warm-up; an uncounted warm-up run, then off/metrics/traces/traces/metrics/off");
        Line("   traces: default sampling, spans exported over OTLP/HTTP to a collector on loopback, and metrics");
        Line("   the load generator runs in the gateway's process, with OpenTelemetry suppressed for its own requests");
        Line("   metrics: no OTLP endpoint (no spans recorded), /metrics; off: DeepDeploy:Telemetry:Enabled=false");
        await using var collector = await OtlpReceiver.StartAsync(keepSpans: false);
        string[] modes = ["traces", "metrics", "off"];
        var runs = modes.ToDictionary(m => m, _ => new List<Result>());
        // Later runs are faster (JIT and pools of this process warm up): a first run that is not counted, then a
        // balanced order, so that each mode has as many early runs as late ones.
        string[] order = ["warm-up", "off", "metrics", "traces", "traces", "metrics", "off"];
        foreach (var run in order)
        {
            var mode = run == "warm-up" ? "metrics" : run;
            var settings = new Dictionary<string, string> { ["DeepDeploy:Telemetry:Enabled"] = mode == "off" ? "false" : "true" };
            if (mode == "traces")
            {
                settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString().TrimEnd('/');
                settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            }

            await using var system = await GatewaySystem.StartAsync(tokenRate: 0, settings, workerArgs: "--max-queue 4096");
            var token = await system.CreateUserAsync("bench");
            using var client = system.Client(token);
            await GatewaySystem.DeployAsync(client, "fast", maxBatchSize: 256, minInstances: 2, maxInstances: 2, running: 2);
            await GatewaySystem.LaneAsync(system, "bench/fast", 2);
            var body = """{"model":"bench/fast","messages":[{"role":"user","content":"Hello there, how are you?"}],"max_tokens":16}""";
            var result = await ClosedLoopAsync([(new Uri(system.BaseAddress, "/v1/openai/chat/completions"), token)], body, 64, Measure);
            if (run != "warm-up")
            {
                runs[mode].Add(result);
            }

            Line($"  {run,-8} {result}");
        }

        var off = runs["off"].Average(r => r.Rps);
        foreach (var mode in modes[..2])
        {
            var rps = runs[mode].Average(r => r.Rps);
            Line($"  mean throughput {mode,-8} {rps:F0} req/s vs off {off:F0} req/s: {rps / off:F3} (drop {(1 - rps / off) * 100:F1}%)");
        }

        Line($"  OTLP trace bytes received {collector.TraceBytes}");
        var dir = Path.Combine(RepoRoot(), "bench-results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway-telemetry.txt"), _report.ToString());
    }

    async Task ProxyOverheadAsync()
    {
        // DEEPDEPLOY_BENCH_FORWARDING=Yarp|Raw: the gateway's way to engines (InferenceOptions.Forwarding), default the product's.
        var forwarding = Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_FORWARDING") is { Length: > 0 } chosen
            ? new Dictionary<string, string> { ["DeepDeploy__Inference__Forwarding"] = chosen }
            : null;
        await using var silo = await ShippedSilo.StartAsync(tokenRate: 0, workerArgs: "--max-queue 4096", forwarding);
        var token = await silo.CreateUserAsync("bench");
        using (var client = silo.Client(token))
        {
            await GatewaySystem.DeployAsync(client, "fast", maxBatchSize: 256, minInstances: 2, maxInstances: 2, running: 2);
            await silo.WaitRoutedAsync(client, "bench/fast", 2);
            var workers = silo.Workers();
            await using var nginx = NginxProcess.Binary is null ? null : await NginxProcess.StartAsync(workers);
            if (FloorProcess.Dll is null)
            {
                Line("floor: benchmarks/DeepDeploy.Benchmarks not built in this configuration (dotnet build benchmarks/DeepDeploy.Benchmarks -c Release); floor columns skipped");
            }

            await using var floor = await FloorAsync(workers, "yarp");
            await using var rawFloor = await FloorAsync(workers, "raw");
            await using var kestrelFloor = await FloorAsync(workers, "kestrel");

            // Each worker takes only its instance secret: direct requests present it, as the gateway does.
            var workerUrls = workers.Select(w => (new Uri(w.Endpoint + "/v1/chat/completions"), (string?)w.Secret)).ToArray();
            // Each proxy's CPU: nginx's master and workers, the floor's process, the silo's (not its engines').
            var targets = new List<Target> { new("direct", workerUrls, null) };
            if (nginx is not null)
            {
                targets.Add(new("nginx", [(new Uri(nginx.BaseAddress, "/v1/chat/completions"), null)], () => ProcessCpu.Seconds(nginx.Pid, withChildren: true)));
            }

            foreach (var started in new[] { floor, rawFloor, kestrelFloor }.OfType<FloorProcess>())
            {
                targets.Add(new(FloorName(started.Mode), [(new Uri(started.BaseAddress, "/v1/chat/completions"), null)], () => ProcessCpu.Seconds(started.Pid)));
            }

            targets.Add(new("gateway", [(new Uri(silo.BaseAddress, "/v1/openai/chat/completions"), token)], () => ProcessCpu.Seconds(silo.Pid)));
            await ProxyTableAsync("1. Proxy overhead", $"the gateway: the shipped all-in-one silo (DeepDeploy.Silo.dll, its own process, appsettings and server GC), forwarding {forwarding?.Values.Single() ?? "as configured (default)"}", targets);
            Line("   the silo's last log lines after the runs (the product logs nothing per request):");
            Line("   " + silo.LogTail(8).Replace("\n", "\n   "));

            if (Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_PROFILE") is { Length: > 0 } trace)
            {
                // A run of its own, not counted above: the recording costs CPU. DEEPDEPLOY_BENCH_PROFILE_TARGET names
                // another process to record (a floor: floor, floor-raw, floor-kestrel); default the gateway.
                var name = Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_PROFILE_TARGET") is { Length: > 0 } asked ? asked : "gateway";
                var profiled = targets.Single(t => t.Name == name);
                var pid = name == "gateway" ? silo.Pid : new[] { floor, rawFloor, kestrelFloor }.OfType<FloorProcess>().Single(f => FloorName(f.Mode) == name).Pid;
                await using (EventPipeRecording.Start(pid, trace))
                {
                    Line($"  profiled  c=64  {name}  {await ClosedLoopAsync(profiled.Urls, Body, 64, Measure)} (EventPipe recording of process {pid} to {trace})");
                }
            }
        }

        if (Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_TESTHOST") == "1")
        {
            await InTestHostAsync();
        }
    }

    const string Body = """{"model":"bench/fast","messages":[{"role":"user","content":"Hello there, how are you?"}],"max_tokens":16}""";

    /// <summary>Warms every target, then <see cref="ProxyRuns"/> runs of c=1 and c=64 against each, and the table.</summary>
    async Task ProxyTableAsync(string title, string gateway, List<Target> targets)
    {
        var generator = WrkLoad.Binary is null
            ? "in-process .NET client (install the Debian package wrk for a cheaper load generator)"
            : "wrk, 1 thread per target URL (direct: one wrk per worker, c/2 each)";

        // Warm every path (JIT, connection pools) before any measurement, so that order does not matter.
        foreach (var target in targets)
        {
            await ClosedLoopAsync(target.Urls, Body, 16, Measure);
        }

        Line("");
        Line($"{title}: fake engine at no delay, 16 tokens, 2 workers, closed loop, 2 s warm-up, then c=1 for {SingleClient.TotalSeconds:0} s (DEEPDEPLOY_BENCH_C1_SECONDS) and c=64 for {Measure.TotalSeconds:0} s; {ProxyRuns} run(s) (DEEPDEPLOY_BENCH_PROXY_RUNS)");
        Line($"   load generator: {generator}");
        Line($"   {gateway}");
        Line("   cpu: the proxy process's CPU time (utime+stime, /proc) over the measured run / requests served, in us; nginx counts its workers");
        var table = new List<string>();
        var cpuRatios = new Dictionary<string, List<double>>();
        for (var run = 1; run <= ProxyRuns; run++)
        {
            var results = new Dictionary<(string, int), Result>();
            foreach (var concurrency in new[] { 1, 64 })
            {
                foreach (var (name, urls, cpu) in targets)
                {
                    var result = results[(name, concurrency)] = await ClosedLoopAsync(urls, Body, concurrency, concurrency == 1 ? SingleClient : Measure, cpu);
                    Line($"  run {run} c={concurrency,-3} {name,-8} {result}");
                }

                if (concurrency == 64 && results.TryGetValue(("nginx", 64), out var nginxResult))
                {
                    foreach (var target in targets.Where(t => t.Cpu is not null && t.Name != "nginx"))
                    {
                        var r = results[(target.Name, 64)];
                        Line(string.Create(CultureInfo.InvariantCulture,
                            $"  run {run} c=64  {target.Name}/nginx throughput {r.Rps / nginxResult.Rps:F2}, CPU per request {r.CpuPerRequest / nginxResult.CpuPerRequest:F2}"));
                    }
                }

                var direct = results[("direct", concurrency)];
                var gatewayResult = results[("gateway", concurrency)];
                Line($"  run {run} c={concurrency,-3} gateway/direct throughput {gatewayResult.Rps / direct.Rps:F2}; p50 added {gatewayResult.P50 - direct.P50:F2} ms, p99 added {gatewayResult.P99 - direct.P99:F2} ms");
                foreach (var other in targets.Select(t => t.Name).Where(n => n is not ("direct" or "gateway")))
                {
                    if (results.TryGetValue((other, concurrency), out var o))
                    {
                        Line($"  run {run} c={concurrency,-3} gateway/{other} throughput {gatewayResult.Rps / o.Rps:F2}; {other}/direct {o.Rps / direct.Rps:F2}; {other} p99 added {o.P99 - direct.P99:F2} ms");
                        if (concurrency == 64 && double.IsFinite(gatewayResult.CpuPerRequest / o.CpuPerRequest))
                        {
                            var ratio = gatewayResult.CpuPerRequest / o.CpuPerRequest;
                            (cpuRatios.TryGetValue(other, out var list) ? list : cpuRatios[other] = []).Add(ratio);
                            Line($"  run {run} c={concurrency,-3} gateway/{other} CPU per request {ratio:F2} ({gatewayResult.CpuPerRequest:F0} / {o.CpuPerRequest:F0} us)");
                        }
                    }
                }
            }

            var nginx = results.GetValueOrDefault(("nginx", 64));
            foreach (var target in targets)
            {
                var (many, one) = (results[(target.Name, 64)], results[(target.Name, 1)]);
                table.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {run} | {target.Name} | {many.Rps:F0} | {many.P99:F2} | {one.P99:F2} | {one.Max:F2} | {Figure(many.CpuPerRequest, "F1")} | {Figure(many.Rps / nginx?.Rps, "F2")} | {Figure(many.CpuPerRequest / nginx?.CpuPerRequest, "F2")} |"));
            }
        }

        Line("");
        Line("| run | target | req/s c=64 | p99 c=64 (ms) | p99 c=1 (ms) | max c=1 (ms) | CPU us/request c=64 | req/s to nginx | CPU/request to nginx |");
        Line("|---|---|---|---|---|---|---|---|---|");
        table.ForEach(Line);
        foreach (var (other, ratios) in cpuRatios)
        {
            Line(string.Create(CultureInfo.InvariantCulture,
                $"gateway/{other} CPU per request at c=64 over {ratios.Count} run(s): {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} (mean {ratios.Average():F2})"));
        }
    }

    /// <summary>The experiment behind docs/gateway.md "The single-client stall was the test runner's": the same
    /// table with the gateway inside this test process (RunningSystem, as the benchmark ran before session 6), once
    /// as RunningSystem starts it (the silo's appsettings.json: Information to the console, which vstest relays) and
    /// once without logging providers. Opt-in: DEEPDEPLOY_BENCH_TESTHOST=1.</summary>
    async Task InTestHostAsync()
    {
        foreach (var (variant, quiet) in new[] { ("console logging", false), ("no logging providers", true) })
        {
            await using var system = await RunningSystem.StartAsync(
                settings: new Dictionary<string, string> { ["DeepDeploy:Node:WorkerArgs"] = "--engine fake --fake-token-rate 0 --max-queue 4096" },
                configure: quiet ? builder => builder.Logging.ClearProviders() : null);
            var token = await system.CreateUserAsync("bench");
            using var client = system.Client(token);
            var deployId = await GatewaySystem.DeployAsync(client, "fast", maxBatchSize: 256, minInstances: 2, maxInstances: 2, running: 2);
            await GatewaySystem.LaneAsync(system, "bench/fast", 2);
            var workerUrls = Workers(system, deployId).Select(w => (new Uri(w.Endpoint + "/v1/chat/completions"), (string?)w.Secret)).ToArray();
            await ProxyTableAsync($"4. Gateway in the test host, {variant}", $"the gateway: RunningSystem in the xunit test process, {variant}",
                [new("direct", workerUrls, null), new("gateway", [(new Uri(system.BaseAddress, "/v1/openai/chat/completions"), token)], null)]);
        }
    }

    static string Figure(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "";

    /// <summary>The floors to measure (DEEPDEPLOY_BENCH_FLOORS, default all): <c>yarp</c> (named "floor" in the
    /// tables, as before), <c>raw</c> and <c>kestrel</c> (benchmarks' ForwardFloor).</summary>
    static string[] FloorModes => (Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_FLOORS") is { Length: > 0 } modes ? modes : "yarp,raw,kestrel")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The floor of <paramref name="mode"/>, or null when it is not asked for or not built.</summary>
    static async Task<FloorProcess?> FloorAsync((string Endpoint, string Secret)[] workers, string mode) =>
        FloorProcess.Dll is not null && FloorModes.Contains(mode) ? await FloorProcess.StartAsync(workers, FloorKnob.Environment, mode) : null;

    /// <summary>A runtime knob for every floor (DEEPDEPLOY_BENCH_FLOOR_KNOB, <see cref="RuntimeKnob"/>; default base).</summary>
    static RuntimeKnob FloorKnob => RuntimeKnob.Parse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_FLOOR_KNOB"), "base")[^1];

    static string FloorName(string mode) => (mode == "yarp" ? "floor" : $"floor-{mode}") + (FloorKnob.Name == "base" ? "" : $"+{FloorKnob.Name}");

    static int ProxyRuns => int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_PROXY_RUNS"), out var runs) && runs > 0 ? runs : 1;

    /// <summary>How long the single client runs: long enough to see stalls (60 s in docs/gateway.md).</summary>
    static TimeSpan SingleClient => TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_C1_SECONDS"), out var seconds) && seconds > 0 ? seconds : Measure.TotalSeconds);

    async Task SkewedLoadAsync()
    {
        const double rate = 100; // tokens/s per sequence
        const int shortTokens = 4, longTokens = 100;
        const double longShare = 0.2;
        var meanService = ((1 - longShare) * shortTokens + longShare * longTokens) / rate;
        var capacity = 2 * 4 / meanService;
        var arrivals = 0.8 * capacity;

        await using var silo = await ShippedSilo.StartAsync(tokenRate: rate, workerArgs: "--max-queue 4096");
        var token = await silo.CreateUserAsync("bench");
        using var client = silo.Client(token);
        await GatewaySystem.DeployAsync(client, "skew", maxBatchSize: 4, minInstances: 2, maxInstances: 2, running: 2);
        await silo.WaitRoutedAsync(client, "bench/skew", 2);
        var workers = silo.Workers();

        Line("");
        Line($"2. Skewed load: {(1 - longShare) * 100:0}% {shortTokens}-token / {longShare * 100:0}% {longTokens}-token generations at {rate} tokens/s per sequence, 2 instances x max_batch_size 4");
        Line($"   capacity ~{capacity:F1} req/s; Poisson arrivals at {arrivals:F1} req/s (80%) for {SkewDuration.TotalSeconds:0} s, same seed for each target");
        Line($"   {SkewRuns} run(s) (DEEPDEPLOY_BENCH_SKEW_RUNS), each the gateway then nginx");
        await using var nginx = NginxProcess.Binary is null ? null : await NginxProcess.StartAsync(workers);
        var ratios = new List<double>();
        for (var run = 1; run <= SkewRuns; run++)
        {
            var gateway = await OpenLoopAsync(_ => new Uri(silo.BaseAddress, "/v1/openai/chat/completions"), token, "bench/skew", arrivals, shortTokens, longTokens, longShare);
            Line($"  run {run} gateway (least loaded + admission queue) {gateway}");
            if (nginx is not null)
            {
                var roundRobin = await OpenLoopAsync(_ => new Uri(nginx.BaseAddress, "/v1/chat/completions"), null, "bench/skew", arrivals, shortTokens, longTokens, longShare);
                Line($"  run {run} nginx round-robin (workers queue)        {roundRobin}");
                Line($"  run {run} p99 gateway/round-robin: all {gateway.All.P99 / roundRobin.All.P99:F2}, short {gateway.Short.P99 / roundRobin.Short.P99:F2}");
                ratios.Add(gateway.All.P99 / roundRobin.All.P99);
            }
        }

        if (ratios.Count > 1)
        {
            var mean = ratios.Average();
            var sd = Math.Sqrt(ratios.Sum(r => (r - mean) * (r - mean)) / (ratios.Count - 1));
            Line($"  p99 gateway/round-robin (all) over {ratios.Count} runs: mean {mean:F2}, sd {sd:F2}, min {ratios.Min():F2}, max {ratios.Max():F2}");
        }
    }

    /// <summary>0 skips the skewed load.</summary>
    static int SkewRuns => int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_SKEW_RUNS"), out var runs) && runs >= 0 ? runs : 1;

    /// <summary>Each worker of the deployment: its endpoint and its instance secret.</summary>
    static (string Endpoint, string Secret)[] Workers(RunningSystem system, string deployId) =>
        GatewaySystem.Instances(system, deployId).Select(i => (i.Endpoint!, i.Secret)).ToArray();

    /// <param name="cpu">The proxy's CPU seconds so far (<see cref="ProcessCpu"/>), read around the measured run for
    /// its CPU per request; only with wrk (the in-process client's warm-up is not a run of its own).</param>
    static async Task<Result> ClosedLoopAsync((Uri Url, string? Bearer)[] urls, string body, int concurrency, TimeSpan measure, Func<double>? cpu = null)
    {
        if (WrkLoad.Binary is not null)
        {
            // Several URLs (direct): one wrk per URL at the same time; throughput adds up, p50 is the mean, p99 the worst.
            urls = urls[..Math.Min(urls.Length, concurrency)];
            var per = concurrency / urls.Length;
            await Task.WhenAll(urls.Select(u => WrkLoad.RunAsync(u.Url, body, per, Warmup, u.Bearer)));
            var cpuBefore = cpu?.Invoke() ?? double.NaN;
            var runs = await Task.WhenAll(urls.Select(u => WrkLoad.RunAsync(u.Url, body, per, measure, u.Bearer)));
            var cpuPerRequest = ((cpu?.Invoke() ?? double.NaN) - cpuBefore) / runs.Sum(r => r.Requests) * 1e6;
            return new Result(runs.Sum(r => r.Rps), runs.Average(r => r.P50), runs.Max(r => r.P99), runs.Max(r => r.Max), (int)runs.Sum(r => r.Errors), cpuPerRequest);
        }

        Func<int, (Uri Url, string? Bearer)> url = i => urls[i % urls.Length];
        // The load generator shares the gateway's process: its own requests are not the gateway's to trace.
        using var suppressed = SuppressInstrumentationScope.Begin();
        using var http = Client(null);
        var content = Encoding.UTF8.GetBytes(body);
        var stop = DateTime.UtcNow + Warmup + measure;
        var measureFrom = Stopwatch.GetTimestamp() + (long)(Warmup.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>[concurrency];
        var errors = 0;
        var counter = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            while (DateTime.UtcNow < stop)
            {
                var started = Stopwatch.GetTimestamp();
                var (target, bearer) = url(Interlocked.Increment(ref counter));
                var ok = await SendAsync(http, target, content, bearer);
                if (started < measureFrom)
                {
                    continue;
                }

                if (ok)
                {
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));

        var all = latencies.SelectMany(l => l).ToArray();
        return new Result(all.Length / measure.TotalSeconds, Percentile(all, 0.5), Percentile(all, 0.99), Percentile(all, 1), errors);
    }

    static async Task<SkewResult> OpenLoopAsync(Func<int, Uri> url, string? bearer, string model, double perSecond,
        int shortTokens, int longTokens, double longShare)
    {
        using var http = Client(bearer);
        var random = new Random(42);
        var shorts = new List<double>();
        var longs = new List<double>();
        var errors = 0;
        var pending = new List<Task>();
        var clock = Stopwatch.StartNew();
        var next = 0.0;
        var n = 0;
        while (next < SkewDuration.TotalSeconds)
        {
            var wait = next - clock.Elapsed.TotalSeconds;
            if (wait > 0)
            {
                // Open-loop arrivals: the load generator's own schedule, on purpose.
                await Task.Delay(TimeSpan.FromSeconds(wait));
            }

            var isLong = random.NextDouble() < longShare;
            var body = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"request {{n}}"}],"max_tokens":{{(isLong ? longTokens : shortTokens)}}}""");
            var target = url(n++);
            pending.Add(Task.Run(async () =>
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await SendAsync(http, target, body);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (shorts)
                {
                    if (!ok)
                    {
                        errors++;
                    }
                    else
                    {
                        (isLong ? longs : shorts).Add(ms);
                    }
                }
            }));
            next += -Math.Log(1 - random.NextDouble()) / perSecond;
        }

        await Task.WhenAll(pending);
        var all = shorts.Concat(longs).ToArray();
        return new SkewResult(
            new Result(all.Length / clock.Elapsed.TotalSeconds, Percentile(all, 0.5), Percentile(all, 0.99), Percentile(all, 1), errors),
            new Result(shorts.Count / clock.Elapsed.TotalSeconds, Percentile(shorts.ToArray(), 0.5), Percentile(shorts.ToArray(), 0.99), Percentile(shorts.ToArray(), 1), 0));
    }

    static async Task<bool> SendAsync(HttpClient http, Uri url, byte[] body, string? bearer = null)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            using var response = await http.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    static HttpClient Client(string? bearer)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromMinutes(2),
        };
        if (bearer is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return http;
    }

    static double Percentile(double[] values, double p)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        Array.Sort(values);
        return values[Math.Min(values.Length - 1, (int)Math.Ceiling(p * values.Length) - 1)];
    }

    void Line(string line)
    {
        output.WriteLine(line);
        _report.AppendLine(line);
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.DeepDeploy.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    /// <param name="CpuPerRequest">The proxy's CPU microseconds per request served, NaN when not measured.</param>
    sealed record Result(double Rps, double P50, double P99, double Max, int Errors, double CpuPerRequest = double.NaN)
    {
        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"{Rps,8:F0} req/s   p50 {P50,7:F2} ms   p99 {P99,7:F2} ms   max {Max,7:F2} ms   errors {Errors}")
            + (double.IsNaN(CpuPerRequest) ? "" : string.Create(CultureInfo.InvariantCulture, $"   cpu {CpuPerRequest,6:F1} us/req"));
    }

    /// <param name="Cpu">The proxy's CPU seconds so far, or null (direct: no proxy).</param>
    sealed record Target(string Name, (Uri Url, string? Bearer)[] Urls, Func<double>? Cpu);

    sealed record SkewResult(Result All, Result Short)
    {
        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"all: p50 {All.P50,7:F1} ms  p99 {All.P99,7:F1} ms ({All.Rps:F1} req/s, errors {All.Errors}); short: p50 {Short.P50,7:F1} ms  p99 {Short.P99,7:F1} ms");
    }
}
