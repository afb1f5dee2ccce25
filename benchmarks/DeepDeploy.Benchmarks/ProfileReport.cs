using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// Reads an EventPipe recording (.nettrace, e.g. the gateway benchmark's DEEPDEPLOY_BENCH_PROFILE) and prints
/// where the time and the allocations go: CPU samples by method (exclusive and inclusive), allocation ticks by type
/// and by allocating method, lock contention by method, and GC counts and pauses.
/// </summary>
public static class ProfileReport
{
    /// <summary>Frames of these namespaces are the runtime's plumbing; the "allocating method" is the first
    /// frame outside them.</summary>
    static readonly string[] Plumbing = ["System.", "Microsoft.Extensions.", "Microsoft.AspNetCore.Http.", "Internal."];

    public static void Run(string path, int top)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path, null, new TraceLogOptions { ContinueOnError = true });
        using var log = new TraceLog(etlx);
        var exclusive = new Dictionary<string, int>();
        var exclusiveOwn = new Dictionary<string, int>();
        var inclusive = new Dictionary<string, int>();
        var allocatedByType = new Dictionary<string, long>();
        var allocatedBy = new Dictionary<string, long>();
        var contentionBy = new Dictionary<string, double>();
        var contendedAt = new Dictionary<int, string>();
        var gcs = new int[3];
        var pauses = new List<double>();
        var managed = 0;
        var samples = 0;
        var contentions = 0;
        var contentionMs = 0.0;
        var suspendedAt = 0.0;
        foreach (var e in log.Events)
        {
            switch (e)
            {
                case GCAllocationTickTraceData tick:
                    Add(allocatedByType, tick.TypeName ?? "?", tick.AllocationAmount64);
                    Add(allocatedBy, FirstOwnFrame(tick.CallStack()), tick.AllocationAmount64);
                    break;
                case ContentionStartTraceData start:
                    contendedAt[start.ThreadID] = FirstOwnFrame(start.CallStack());
                    break;
                case ContentionStopTraceData stop:
                    contentions++;
                    contentionMs += stop.DurationNs / 1e6;
                    Add(contentionBy, contendedAt.GetValueOrDefault(stop.ThreadID, "?"), stop.DurationNs / 1e6);
                    break;
                case GCStartTraceData start:
                    gcs[Math.Min(2, start.Depth)]++;
                    break;
                // Only suspensions for a GC: the sample profiler suspends the runtime for its own samples too.
                case GCSuspendEETraceData suspend when suspend.Reason is GCSuspendEEReason.SuspendForGC or GCSuspendEEReason.SuspendForGCPrep:
                    suspendedAt = e.TimeStampRelativeMSec;
                    break;
                case GCNoUserDataTraceData when e.EventName == "GC/RestartEEStop" && suspendedAt > 0:
                    pauses.Add(e.TimeStampRelativeMSec - suspendedAt);
                    suspendedAt = 0;
                    break;
                default:
                    if (e.ProviderName == "Microsoft-DotNETCore-SampleProfiler" && e.CallStack() is { } stack)
                    {
                        samples++;
                        // Type 2: the thread was running managed code; 1 (external): in native code, mostly waiting.
                        if (Convert.ToInt32(e.PayloadByName("Type"), CultureInfo.InvariantCulture) != 2)
                        {
                            break;
                        }

                        managed++;
                        Add(exclusive, Name(stack), 1);
                        Add(exclusiveOwn, FirstOwnFrame(stack), 1);
                        var seen = new HashSet<string>();
                        for (var frame = stack; frame is not null; frame = frame.Caller)
                        {
                            if (seen.Add(Name(frame)))
                            {
                                Add(inclusive, Name(frame), 1);
                            }
                        }
                    }

                    break;
            }
        }

        Console.WriteLine($"{path}: {log.SessionDuration.TotalSeconds:F1} s, {samples} thread samples, {managed} in managed code (the CPU figures below are shares of these)");
        Print("CPU, exclusive (top frame)", exclusive, managed, v => $"{v * 100.0 / managed,5:F1}%");
        Print("CPU, exclusive by first frame outside System.*, Microsoft.Extensions.* (who called into the runtime)", exclusiveOwn, managed, v => $"{v * 100.0 / managed,5:F1}%");
        Print("CPU, inclusive (method anywhere on the stack)", inclusive, managed, v => $"{v * 100.0 / managed,5:F1}%");
        var allocated = allocatedByType.Values.Sum();
        Console.WriteLine($"\nallocated (sampled by allocation ticks): {allocated / 1e6:F0} MB, {allocated / 1e6 / log.SessionDuration.TotalSeconds:F1} MB/s");
        Print("allocations by type", allocatedByType, allocated, v => $"{v * 100.0 / allocated,5:F1}%");
        Print("allocations by allocating method (first frame outside System.*, Microsoft.Extensions.*)", allocatedBy, allocated, v => $"{v * 100.0 / allocated,5:F1}%");
        Console.WriteLine($"\nlock contention: {contentions} waits, {contentionMs:F1} ms in all");
        Print("contention by waiting method", contentionBy, contentionMs, v => $"{v,8:F2} ms");
        pauses.Sort();
        Console.WriteLine($"\nGCs: gen0 {gcs[0]}, gen1 {gcs[1]}, gen2 {gcs[2]}; pauses {pauses.Count}, total {pauses.Sum():F1} ms, " +
            $"p50 {At(pauses, 0.5):F2} ms, p99 {At(pauses, 0.99):F2} ms, max {(pauses.Count > 0 ? pauses[^1] : 0):F2} ms");

        void Print<T>(string title, Dictionary<string, T> values, double total, Func<double, string> format)
            where T : struct, IConvertible
        {
            Console.WriteLine($"\n{title}:");
            foreach (var (name, value) in values.OrderByDescending(p => p.Value).Take(top))
            {
                Console.WriteLine($"  {format(value.ToDouble(CultureInfo.InvariantCulture))}  {name}");
            }
        }
    }

    static string Name(TraceCallStack frame)
    {
        var method = frame.CodeAddress.FullMethodName;
        return string.IsNullOrEmpty(method) ? $"[{frame.CodeAddress.ModuleName}]" : method;
    }

    static string FirstOwnFrame(TraceCallStack? stack)
    {
        var first = stack is null ? "?" : Name(stack);
        for (var frame = stack; frame is not null; frame = frame.Caller)
        {
            var name = Name(frame);
            if (!Plumbing.Any(p => name.StartsWith(p, StringComparison.Ordinal)) && !name.StartsWith('['))
            {
                return name;
            }
        }

        return first;
    }

    static void Add<T>(Dictionary<string, T> values, string key, T amount)
        where T : struct, System.Numerics.INumber<T> =>
        values[key] = values.GetValueOrDefault(key) + amount;

    static double At(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
