using System.Diagnostics;
using System.Text.Json;
using DeepDeploy.GpuWorker.Engine;
using DeepDeploy.GpuWorker.Hosting;
using DeepDeploy.GpuWorker.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>HTTP surface: /health, /metrics (OpenTelemetry's Prometheus exporter), /v1/models, /v1/chat/completions, /v1/completions.</summary>
public static class WorkerEndpoints
{
    static readonly byte[] DataPrefix = "data: "u8.ToArray();
    static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static void MapWorkerEndpoints(this WebApplication app)
    {
        app.MapGet("/health", (ModelHost host) => host.Phase switch
        {
            WorkerPhase.Ready => Results.Json(new Dictionary<string, object?>
            {
                ["status"] = "ok",
                ["model"] = host.Options.ModelName,
                ["max_batch_size"] = host.Options.MaxBatchSize,
                ["max_queue"] = host.Options.MaxQueue,
                ["engine"] = host.Options.Engine.ToString().ToLowerInvariant(),
                ["instance_id"] = host.Options.InstanceId,
            }),
            WorkerPhase.Loading => Results.Json(new Dictionary<string, object?> { ["status"] = "loading" }, statusCode: 503),
            WorkerPhase.Draining => Results.Json(new Dictionary<string, object?> { ["status"] = "draining" }, statusCode: 503),
            _ => Results.Json(new Dictionary<string, object?> { ["status"] = "failed", ["error"] = host.LoadError }, statusCode: 503),
        });

        app.MapPrometheusScrapingEndpoint();

        app.MapGet("/v1/models", (ModelHost host) => Results.Json(new Dictionary<string, object?>
        {
            ["object"] = "list",
            ["data"] = new[]
            {
                new Dictionary<string, object?>
                {
                    ["id"] = host.Options.ModelName,
                    ["object"] = "model",
                    ["created"] = 0,
                    ["owned_by"] = "deepdeploy",
                    ["max_model_len"] = host.Options.TokensPerSequence,
                },
            },
        }));

        app.MapPost("/v1/chat/completions", (HttpContext ctx, ModelHost host, AdmissionGate gate, WorkerMetrics metrics) => HandleAsync(ctx, host, gate, metrics, chat: true));
        app.MapPost("/v1/completions", (HttpContext ctx, ModelHost host, AdmissionGate gate, WorkerMetrics metrics) => HandleAsync(ctx, host, gate, metrics, chat: false));
    }

    static async Task HandleAsync(HttpContext ctx, ModelHost host, AdmissionGate gate, WorkerMetrics metrics, bool chat)
    {
        if (host.Phase != WorkerPhase.Ready)
        {
            ctx.Response.Headers[Headers.Refused] = host.Phase.ToString().ToLowerInvariant();
            await WriteErrorAsync(ctx, Unavailable(host.Phase));
            return;
        }

        if (gate.TryEnter() is not { } slot)
        {
            ctx.Response.Headers[Headers.Refused] = "busy";
            ctx.Response.Headers.RetryAfter = "1";
            await WriteErrorAsync(ctx, new ApiError(429,
                $"This instance is at its limit of {gate.Limit} concurrent requests (max_batch_size + max_queue).",
                Type: "instance_busy", Code: "instance_busy"));
            return;
        }

        try
        {
            await HandleCoreAsync(ctx, host, slot, metrics, chat);
        }
        catch (ApiException ex) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, ex.Error);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // Client went away; the engine frees its sequence.
        }
        finally
        {
            slot.Release();
        }
    }

    static async Task HandleCoreAsync(HttpContext ctx, ModelHost host, AdmissionSlot slot, WorkerMetrics metrics, bool chat)
    {
        var arrived = Stopwatch.GetTimestamp();
        var engine = host.Engine;
        if (host.Phase != WorkerPhase.Ready || engine is null)
        {
            ctx.Response.Headers[Headers.Refused] = host.Phase.ToString().ToLowerInvariant();
            throw new ApiException(Unavailable(host.Phase));
        }

        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new ApiException(new ApiError(400, $"The request body is not valid JSON: {ex.Message}"));
        }

        OpenAiRequest request;
        using (doc)
        {
            request = OpenAiRequestParser.Parse(doc.RootElement, chat);
        }

        var modelName = host.Options.ModelName;
        if (request.Model is not null && request.Model != modelName)
        {
            throw new ApiException(new ApiError(404, $"The model '{request.Model}' does not exist; this worker serves '{modelName}'.",
                Param: "model", Code: "model_not_found"));
        }

        string promptText;
        var special = false;
        if (chat)
        {
            (promptText, special) = host.Chat!.Format(request.Messages);
        }
        else
        {
            promptText = request.Prompt;
        }

        var tokens = engine.Tokenize(promptText, special);
        var budget = engine.TokensPerSequence;
        if (tokens.Length >= budget)
        {
            var field = chat ? "messages" : "prompt";
            throw new ApiException(ApiError.Invalid(field,
                $"This model's maximum context length is {budget} tokens, but the {field} has {tokens.Length} tokens."));
        }

        var maxTokens = Math.Min(request.MaxTokens, budget - tokens.Length);
        var seed = request.Seed is { } s ? unchecked((uint)s) : (uint)Random.Shared.Next();
        var generation = new GenerationRequest(tokens, maxTokens,
            new SamplingOptions(request.Temperature, request.TopP, seed), request.Stop, ctx.RequestAborted)
        {
            HoldText = !request.Stream,
        };

        if (host.Phase != WorkerPhase.Ready || !engine.TryEnqueue(generation))
        {
            ctx.Response.Headers[Headers.Refused] = "draining";
            throw new ApiException(Unavailable(WorkerPhase.Draining));
        }

        if (host.Options.InstanceId is { Length: > 0 } instance)
        {
            ctx.Response.Headers[Headers.Instance] = instance;
        }

        var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var server = Activity.Current;
        GenerationFinished? finished = null;
        try
        {
            finished = request.Stream
                ? await StreamAsync(ctx, generation, slot, chat, id, created, modelName)
                : await CompleteAsync(ctx, generation, slot, chat, id, created, modelName);
        }
        finally
        {
            var operation = chat ? "chat" : "text_completion";
            metrics.Request(operation, modelName, arrived, generation, finished);
            WorkerActivity.Record(server, operation, modelName, generation, finished);
        }
    }

    static async Task<GenerationFinished?> CompleteAsync(HttpContext ctx, GenerationRequest generation, AdmissionSlot slot, bool chat, string id, long created, string model)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var e in generation.Events.ReadAllAsync(ctx.RequestAborted))
        {
            switch (e)
            {
                case TextDelta d:
                    text.Append(d.Text);
                    break;
                case GenerationFinished f:
                    slot.Release();
                    var usage = new TokenUsage(f.PromptTokens, f.CompletionTokens, f.CachedTokens);
                    var body = chat
                        ? OpenAiJson.ChatCompletion(id, created, model, text.ToString(), f.FinishReason, usage)
                        : OpenAiJson.TextCompletion(id, created, model, text.ToString(), f.FinishReason, usage);
                    ctx.Response.ContentType = "application/json";
                    await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted);
                    return f;
                case GenerationFailed x:
                    slot.Release();
                    await WriteErrorAsync(ctx, new ApiError(500, x.Message, Type: "server_error"));
                    return null;
            }
        }
        ctx.RequestAborted.ThrowIfCancellationRequested();
        await WriteErrorAsync(ctx, new ApiError(500, "generation ended without a result", Type: "server_error"));
        return null;
    }

    static async Task<GenerationFinished?> StreamAsync(HttpContext ctx, GenerationRequest generation, AdmissionSlot slot, bool chat, string id, long created, string model)
    {
        var ct = ctx.RequestAborted;
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        await ctx.Response.StartAsync(ct);

        var obj = chat ? "chat.completion.chunk" : "text_completion";
        var roleSent = !chat;
        await foreach (var e in generation.Events.ReadAllAsync(ct))
        {
            if (!roleSent)
            {
                // With the first token, not before: the first bytes a caller sees mark the time to first token.
                roleSent = true;
                await SendAsync(ctx, OpenAiJson.ChatChunk(id, created, model, "assistant", "", null), ct);
            }

            switch (e)
            {
                case TextDelta d:
                    await SendAsync(ctx, chat
                        ? OpenAiJson.ChatChunk(id, created, model, null, d.Text, null)
                        : OpenAiJson.TextChunk(id, created, model, d.Text, null), ct);
                    break;
                case GenerationFinished f:
                    slot.Release();
                    await SendAsync(ctx, chat
                        ? OpenAiJson.ChatChunk(id, created, model, null, null, f.FinishReason)
                        : OpenAiJson.TextChunk(id, created, model, "", f.FinishReason), ct);
                    await SendAsync(ctx, OpenAiJson.UsageChunk(id, obj, created, model,
                        new TokenUsage(f.PromptTokens, f.CompletionTokens, f.CachedTokens)), ct);
                    await ctx.Response.Body.WriteAsync(Done, ct);
                    await ctx.Response.Body.FlushAsync(ct);
                    return f;
                case GenerationFailed x:
                    slot.Release();
                    await SendAsync(ctx, OpenAiJson.Error(new ApiError(500, x.Message, Type: "server_error")), ct);
                    await ctx.Response.Body.WriteAsync(Done, ct);
                    await ctx.Response.Body.FlushAsync(ct);
                    return null;
            }
        }

        return null;
    }

    static async Task SendAsync(HttpContext ctx, byte[] json, CancellationToken ct)
    {
        var body = ctx.Response.Body;
        await body.WriteAsync(DataPrefix, ct);
        await body.WriteAsync(json, ct);
        await body.WriteAsync(EventEnd, ct);
        await body.FlushAsync(ct);
    }

    static ApiError Unavailable(WorkerPhase phase) => phase switch
    {
        WorkerPhase.Loading => new ApiError(503, "The model is still loading.", Type: "service_unavailable"),
        WorkerPhase.Draining => new ApiError(503, "The worker is shutting down.", Type: "service_unavailable"),
        _ => new ApiError(503, "The model failed to load.", Type: "service_unavailable"),
    };

    static async Task WriteErrorAsync(HttpContext ctx, ApiError error)
    {
        ctx.Response.StatusCode = error.Status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.WriteAsync(OpenAiJson.Error(error));
    }
}
