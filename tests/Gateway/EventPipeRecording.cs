using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// An EventPipe session on a .NET process (the runtime's diagnostics port, what dotnet-trace uses), written to a
/// .nettrace file: CPU samples of every managed thread, allocation ticks (one per ~100 KB allocated, with the type
/// and stack), lock contention, GCs and JIT. Read it with
/// <c>dotnet run -c Release --project benchmarks/DeepDeploy.Benchmarks -- --profile FILE</c>.
/// </summary>
public sealed class EventPipeRecording : IAsyncDisposable
{
    // GC | Loader | Jit | Contention | Exception: what the report reads, and the method names of the stacks.
    const long RuntimeKeywords = 0x1 | 0x8 | 0x10 | 0x4000 | 0x8000;

    readonly EventPipeSession _session;
    readonly FileStream _file;
    readonly Task _copy;

    EventPipeRecording(EventPipeSession session, FileStream file)
    {
        _session = session;
        _file = file;
        _copy = session.EventStream.CopyToAsync(file);
    }

    public static EventPipeRecording Start(int pid, string path)
    {
        EventPipeProvider[] providers =
        [
            new("Microsoft-DotNETCore-SampleProfiler", EventLevel.Informational),
            // Verbose: GC allocation ticks are verbose events.
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, RuntimeKeywords),
        ];
        var session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: true, circularBufferMB: 512);
        return new EventPipeRecording(session, File.Create(path));
    }

    public async ValueTask DisposeAsync()
    {
        await _session.StopAsync(CancellationToken.None);
        await _copy;
        await _file.DisposeAsync();
        _session.Dispose();
    }
}
