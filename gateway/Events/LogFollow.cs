using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using Orleans.Streams;

namespace DeepDeploy.Gateway.Events;

/// <summary>
/// <c>GET /deploy/{id}/logs?follow=true</c>: the last lines of each instance (as the node keeps them, without a
/// time), then every line its engines write from now on, as server-sent events, until the client leaves. Lines
/// come masked and cut by the node; the tail's lines are cut here the same way.
/// </summary>
public static class LogFollow
{
    public static EventStreamResult Result(IClusterClient client, string deployId, int lines) =>
        new(aborted => ItemsAsync(client, deployId, lines, aborted));

    static async IAsyncEnumerable<SseItem<string>> ItemsAsync(IClusterClient client, string deployId, int lines,
        [EnumeratorCancellation] CancellationToken aborted)
    {
        await using var live = await StreamFollower<LogBatch>.StartAsync(client, StreamId.Create(EventStreams.Logs, deployId));
        foreach (var log in await client.GetGrain<IDeploymentGrain>(deployId).GetLogs(lines))
        {
            foreach (var text in log.Lines)
            {
                var truncated = text.Length > EventStreams.MaxLineLength;
                yield return Item(new LogLine(log.InstanceId, default, truncated ? text[..EventStreams.MaxLineLength] : text, truncated));
            }
        }

        await foreach (var batch in live.ReadAllAsync(aborted))
        {
            foreach (var line in batch.Lines)
            {
                yield return Item(line);
            }
        }
    }

    static SseItem<string> Item(LogLine line) => new(JsonSerializer.Serialize(new
    {
        instance_id = line.InstanceId,
        time = line.Time == default ? (DateTimeOffset?)null : line.Time,
        line = line.Text,
        truncated = line.Truncated,
    }, EventJson.Options), "log");
}
