using DeepDeploy.Contracts.Events;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace DeepDeploy.Node.Engines;

/// <summary>
/// Publishes engine output lines live on the deployment's log stream (<see cref="EventStreams.Logs"/>), always:
/// lines are gathered per deployment and sent as one <see cref="LogBatch"/> at most every
/// <see cref="FlushDelay"/>, so a chatty engine costs a few stream items a second and one that is quiet costs
/// nothing. Each line is masked (the instance secret, this host's data and program directories) and cut at
/// <see cref="EventStreams.MaxLineLength"/> characters before it leaves the node.
/// </summary>
public sealed class EngineLogPublisher(IClusterClient client, NodePaths paths, TimeProvider time, ILogger<EngineLogPublisher> log)
{
    static readonly TimeSpan FlushDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Lines of one deployment waiting for their flush beyond this are dropped (the engine floods).</summary>
    const int MaxPending = 1000;

    public const string DataDirectoryMask = "<data>";

    public const string AppDirectoryMask = "<app>";

    static readonly string AppDirectory = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);

    readonly Dictionary<string, List<LogLine>> _pending = new(StringComparer.Ordinal);

    /// <summary>What a tenant may see of a line: the instance secret and this host's nodes, data and program
    /// directories masked.</summary>
    public string Mask(EngineInstance instance, string text) =>
        text.Replace(instance.Secret, OutputTail.Masked, StringComparison.Ordinal)
            .Replace(paths.NodesDirectory, DataDirectoryMask, StringComparison.Ordinal)
            .Replace(paths.DataDirectory, DataDirectoryMask, StringComparison.Ordinal)
            .Replace(AppDirectory, AppDirectoryMask, StringComparison.Ordinal);

    /// <summary>Called from the process's output threads.</summary>
    public void Add(EngineInstance instance, string text)
    {
        text = Mask(instance, text);
        var truncated = text.Length > EventStreams.MaxLineLength;
        var line = new LogLine(instance.Launch.InstanceId, time.GetUtcNow(), truncated ? text[..EventStreams.MaxLineLength] : text, truncated);
        var deployId = instance.Launch.DeployId;
        lock (_pending)
        {
            if (!_pending.TryGetValue(deployId, out var lines))
            {
                _pending[deployId] = lines = [];
                _ = FlushLaterAsync(deployId);
            }

            if (lines.Count < MaxPending)
            {
                lines.Add(line);
            }
        }
    }

    async Task FlushLaterAsync(string deployId)
    {
        await Task.Delay(FlushDelay, time);
        List<LogLine> lines;
        lock (_pending)
        {
            _pending.Remove(deployId, out lines!);
        }

        try
        {
            await client.GetStreamProvider(EventStreams.Provider)
                .GetStream<LogBatch>(StreamId.Create(EventStreams.Logs, deployId))
                .OnNextAsync(new LogBatch(lines));
        }
        catch (Exception e)
        {
            // Live logs are best effort: the node's tail (GET /logs) still has them.
            log.LogDebug(e, "Could not publish {Count} log lines of {DeployId}", lines.Count, deployId);
        }
    }
}
