using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Output;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DeepDeploy.Cli.Progress;

/// <summary>Watches a deployment come up: its events (followed as server-sent events) say what happens and why, its
/// deploy object (polled) gives the status, download bytes and instance counts. On a terminal a live display on stderr,
/// otherwise one plain line per event and per change.</summary>
public sealed class DeployProgress(ApiClient client, string deployId)
{
    static readonly string[] Steps = ["initializing", "downloading", "deploying", "running"];
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);
    const int ShownEvents = 6;

    readonly ConcurrentQueue<JsonElement> _arrived = new();
    readonly List<string> _recent = [];
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _lastBytes;
    TimeSpan _lastBytesAt;
    double _bytesPerSecond;
    string _lastLine = "";

    /// <summary>Waits until the deployment is running with no instance pending, or has failed or stopped; returns its
    /// last deploy object. <paramref name="timeout"/> ends the wait (exit code 5), not the deployment.</summary>
    public async Task<JsonElement> WatchAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var events = FollowEventsAsync(stop.Token);
        try
        {
            if (Out.Interactive)
            {
                JsonElement last = default;
                await Out.Stderr.Live(new Text("")).AutoClear(false).StartAsync(async live =>
                {
                    last = await LoopAsync(timeout, deploy => live.UpdateTarget(Render(deploy)), ct);
                });
                return last;
            }

            return await LoopAsync(timeout, PrintPlain, ct);
        }
        finally
        {
            await stop.CancelAsync();
            await events;
        }
    }

    async Task<JsonElement> LoopAsync(TimeSpan timeout, Action<JsonElement> show, CancellationToken ct)
    {
        var deadline = _clock.Elapsed + timeout;
        while (true)
        {
            var deploy = await client.GetAsync($"deploy/{ApiClient.Segment(deployId)}", ct);
            Measure(deploy);
            show(deploy);
            if (Finished(deploy))
            {
                return deploy;
            }

            if (_clock.Elapsed > deadline)
            {
                throw new ApiException(ExitCodes.Server,
                    $"deployment {deployId} is still {deploy.Str("status")} after {timeout.TotalSeconds:0} s (it goes on; watch it with `deepctl deploy events {deployId} --follow`)");
            }

            await Task.Delay(Poll, ct);
        }
    }

    public static bool Finished(JsonElement deploy) => deploy.Str("status") switch
    {
        "running" => deploy.Obj("instances").Str("pending") is "0" or "",
        "failed" or "stopped" or "deleted" => true,
        _ => false,
    };

    async Task FollowEventsAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var item in client.StreamAsync(HttpMethod.Get, $"deploy/{ApiClient.Segment(deployId)}/events?follow=true", null, ct))
            {
                if (item.EventType == "deployment_event")
                {
                    _arrived.Enqueue(JsonSerializer.Deserialize<JsonElement>(item.Data));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ApiException or IOException or HttpRequestException or JsonException)
        {
            // Events are the commentary; the polled deploy object alone decides when the wait ends.
        }
    }

    void Measure(JsonElement deploy)
    {
        var download = deploy.Obj("download");
        if (download.ValueKind != JsonValueKind.Object || !long.TryParse(download.Str("bytes_done"), out var done))
        {
            return;
        }

        var now = _clock.Elapsed;
        if (_lastBytesAt != default && now > _lastBytesAt && done >= _lastBytes)
        {
            _bytesPerSecond = (done - _lastBytes) / (now - _lastBytesAt).TotalSeconds;
        }

        (_lastBytes, _lastBytesAt) = (done, now);
    }

    static string EventLine(JsonElement e)
    {
        var time = DateTimeOffset.TryParse(e.Str("time"), out var at) ? at.ToLocalTime().ToString("HH:mm:ss") : "";
        return $"{time} {e.Str("kind")}: {e.Str("message")}";
    }

    string DownloadText(JsonElement deploy)
    {
        var download = deploy.Obj("download");
        if (download.ValueKind != JsonValueKind.Object || !long.TryParse(download.Str("bytes_done"), out var done)
            || !long.TryParse(download.Str("bytes_total"), out var total))
        {
            return "";
        }

        var speed = _bytesPerSecond > 0 ? $" at {Out.Bytes((long)_bytesPerSecond)}/s" : "";
        var percent = total > 0 ? $" ({100.0 * done / total:0}%)" : "";
        return $"{Out.Bytes(done)} of {Out.Bytes(total)}{percent}{speed}";
    }

    static string InstancesText(JsonElement deploy) =>
        $"{deploy.Obj("instances").Str("running")} running, {deploy.Obj("instances").Str("pending")} pending " +
        $"(min {deploy.Obj("settings").Str("min_instances")}, max {deploy.Obj("settings").Str("max_instances")})";

    IRenderable Render(JsonElement deploy)
    {
        while (_arrived.TryDequeue(out var e))
        {
            _recent.Add(EventLine(e));
        }

        var status = deploy.Str("status");
        var at = Array.IndexOf(Steps, status);
        var steps = string.Join(" → ", Steps.Select((s, i) =>
            at < 0 ? Markup.Escape(s)
            : i < at || (i == at && status == "running") ? $"[green]✓ {s}[/]"
            : i == at ? $"[yellow bold]{s}…[/]"
            : $"[grey]{s}[/]"));
        if (at < 0)
        {
            steps += $"  [red bold]{Markup.Escape(status)}[/]";
        }

        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow(new Markup("[bold]deployment[/]"), Out.Cell($"{deploy.Str("model_name")} ({deployId}) {_clock.Elapsed:mm\\:ss}"));
        grid.AddRow(new Markup("[bold]status[/]"), new Markup(steps));
        var download = DownloadText(deploy);
        if (download.Length > 0)
        {
            grid.AddRow(new Markup("[bold]weights[/]"), Out.Cell(download));
        }

        grid.AddRow(new Markup("[bold]instances[/]"), Out.Cell(InstancesText(deploy)));
        if (deploy.Str("fail_reason") is { Length: > 0 } reason)
        {
            grid.AddRow(new Markup("[bold red]reason[/]"), Out.Cell(reason));
        }

        foreach (var line in _recent.TakeLast(ShownEvents))
        {
            grid.AddRow(new Markup("[grey]event[/]"), Out.Cell(line));
        }

        return grid;
    }

    void PrintPlain(JsonElement deploy)
    {
        while (_arrived.TryDequeue(out var e))
        {
            Out.Note(EventLine(e));
        }

        var download = deploy.Obj("download").ValueKind == JsonValueKind.Object ? $", weights {DownloadText(deploy)}" : "";
        var reason = deploy.Str("fail_reason") is { Length: > 0 } r ? $", reason: {r}" : "";
        var line = $"status {deploy.Str("status")}, instances {InstancesText(deploy)}{download}{reason}";
        // Speed changes every poll; print the line only when something else did.
        var key = line.Split(" at ")[0];
        if (key != _lastLine)
        {
            Out.Note(line);
            _lastLine = key;
        }
    }
}
