using System.Diagnostics;
using DeepDeploy.GpuWorker.Engine;

namespace DeepDeploy.GpuWorker.Telemetry;

/// <summary>
/// The worker's spans (ActivitySource <see cref="SourceName"/>). A request's phases happen on the engine's batching
/// loop, shared by all sequences, so they are recorded once the request is answered, from the timestamps the loop
/// kept: <c>deepdeploy.worker.queue</c> (waiting for a batch slot), <c>deepdeploy.worker.prefill</c> (to the first
/// token) and <c>deepdeploy.worker.decode</c> (the rest), children of the server span, with the token counts.
/// </summary>
public static class WorkerActivity
{
    public const string SourceName = "DeepDeploy.Worker";

    static readonly ActivitySource Source = new(SourceName);

    /// <summary>Adds the request's attributes to the server span and its phases as child spans.</summary>
    public static void Record(Activity? server, string operation, string model, GenerationRequest generation, GenerationFinished? finished)
    {
        if (server is not { IsAllDataRequested: true })
        {
            return;
        }

        server.SetTag("gen_ai.operation.name", operation);
        server.SetTag("gen_ai.request.model", model);
        server.SetTag("gen_ai.usage.input_tokens", generation.PromptTokens.Length);
        if (finished is not null)
        {
            server.SetTag("gen_ai.usage.output_tokens", finished.CompletionTokens);
            server.SetTag("gen_ai.response.finish_reasons", new[] { finished.FinishReason });
        }

        var ended = generation.Ended != 0 ? generation.Ended : Stopwatch.GetTimestamp();
        var admitted = generation.Admitted != 0 ? generation.Admitted : ended;
        Span("deepdeploy.worker.queue", generation.Enqueued, admitted, null);
        if (generation.Admitted == 0)
        {
            return;
        }

        var first = generation.FirstToken != 0 ? generation.FirstToken : ended;
        Span("deepdeploy.worker.prefill", admitted, first, s => s.SetTag("gen_ai.usage.input_tokens", generation.PromptTokens.Length));
        if (generation.FirstToken != 0)
        {
            Span("deepdeploy.worker.decode", first, ended, s => s.SetTag("gen_ai.usage.output_tokens", finished?.CompletionTokens));
        }
    }

    /// <summary>A child of the current (server) span from <paramref name="start"/> to <paramref name="end"/>
    /// (Stopwatch timestamps).</summary>
    static void Span(string name, long start, long end, Action<Activity>? tag)
    {
        var now = DateTimeOffset.UtcNow;
        using var span = Source.StartActivity(name, ActivityKind.Internal, parentContext: default, startTime: now - Stopwatch.GetElapsedTime(start));
        if (span is null)
        {
            return;
        }

        tag?.Invoke(span);
        span.SetEndTime((now - Stopwatch.GetElapsedTime(end)).UtcDateTime);
    }
}
