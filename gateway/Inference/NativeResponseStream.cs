using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// Stands in for the response body while a DeepInfra-native request (<c>POST /v1/inference/{user}/{model}</c>) is
/// forwarded to the engine's /v1/completions: YARP copies the engine's answer into it, and it writes the native
/// shape to the client. Until <see cref="Translate"/> is called (only for a 200 answer) it passes bytes through
/// unchanged, so engine errors reach the client as they are.
/// <list type="bullet">
/// <item>Not streaming: the OpenAI text_completion is buffered and, at <see cref="CompleteAsync"/>, written as
/// <c>{"request_id", "inference_status": {"status", "runtime_ms", "cost", "tokens_generated", "tokens_input"},
/// "results": [{"generated_text"}], "num_tokens", "num_input_tokens"}</c>.</item>
/// <item>Streaming: each SSE chunk becomes <c>{"token": {"id", "text", "logprob", "special"}, "generated_text":
/// null, "details": null}</c> as it arrives; the usage chunk becomes the last event, with the whole
/// <c>generated_text</c>, <c>details</c> (finish_reason, generated_tokens, input_length), token counts,
/// <c>request_id</c> and <c>inference_status</c>; then <c>data: [DONE]</c>.</item>
/// </list>
/// </summary>
public sealed class NativeResponseStream(Stream inner, string requestId, long startTimestamp) : Stream
{
    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    readonly ArrayBufferWriter<byte> _buffer = new();
    readonly StringBuilder _text = new();
    bool _translate;
    bool _sse;
    string? _finishReason;

    public string RequestId => requestId;

    /// <summary>The engine answered 200: translate from now on (<paramref name="sse"/>: it streams).</summary>
    public void Translate(bool sse) => (_translate, _sse) = (true, sse);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_translate)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            return;
        }

        _buffer.Write(buffer.Span);
        if (_sse)
        {
            await DrainEventsAsync(cancellationToken);
        }
    }

    /// <summary>Writes the translated answer of a non-streaming request (call after forwarding succeeded).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (!_translate || _sse)
        {
            return;
        }

        byte[] body;
        try
        {
            using var doc = JsonDocument.Parse(_buffer.WrittenMemory);
            var root = doc.RootElement;
            var choice = root.GetProperty("choices")[0];
            var (prompt, completion) = Usage(root);
            body = Json(w =>
            {
                w.WriteString("request_id", requestId);
                WriteStatus(w, prompt, completion);
                w.WriteStartArray("results");
                w.WriteStartObject();
                w.WriteString("generated_text", choice.GetProperty("text").GetString());
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteNumber("num_tokens", completion);
                w.WriteNumber("num_input_tokens", prompt);
            });
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            body = _buffer.WrittenSpan.ToArray(); // not what we expected: hand it over as it is
        }

        await inner.WriteAsync(body, cancellationToken);
    }

    async Task DrainEventsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = _buffer.WrittenSpan;
            var end = span.IndexOf(EventEnd);
            if (end < 0)
            {
                return;
            }

            var output = TranslateEvent(span[..end]);
            var rest = span[(end + EventEnd.Length)..].ToArray();
            _buffer.Clear();
            _buffer.Write(rest);
            if (output is not null)
            {
                await inner.WriteAsync(output, cancellationToken);
                await inner.FlushAsync(cancellationToken);
            }
        }
    }

    byte[]? TranslateEvent(ReadOnlySpan<byte> sseEvent)
    {
        var text = Encoding.UTF8.GetString(sseEvent).Trim();
        if (!text.StartsWith("data:", StringComparison.Ordinal))
        {
            return null;
        }

        var data = text["data:".Length..].Trim();
        if (data == "[DONE]")
        {
            return "data: [DONE]\n\n"u8.ToArray();
        }

        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out _))
            {
                return Encoding.UTF8.GetBytes($"data: {data}\n\n");
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                var (prompt, completion) = Usage(root);
                return Event(w =>
                {
                    WriteToken(w, "", special: true);
                    w.WriteString("generated_text", _text.ToString());
                    w.WriteStartObject("details");
                    w.WriteString("finish_reason", _finishReason ?? "length");
                    w.WriteNumber("generated_tokens", completion);
                    w.WriteNumber("input_length", prompt);
                    w.WriteEndObject();
                    w.WriteNumber("num_tokens", completion);
                    w.WriteNumber("num_input_tokens", prompt);
                    w.WriteString("request_id", requestId);
                    WriteStatus(w, prompt, completion);
                });
            }

            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                {
                    _finishReason = finish.GetString();
                }

                var piece = choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
                if (piece.Length == 0)
                {
                    return null;
                }

                _text.Append(piece);
                return Event(w =>
                {
                    WriteToken(w, piece, special: false);
                    w.WriteNull("generated_text");
                    w.WriteNull("details");
                });
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    void WriteStatus(Utf8JsonWriter w, int prompt, int completion)
    {
        w.WriteStartObject("inference_status");
        w.WriteString("status", "succeeded");
        w.WriteNumber("runtime_ms", (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);
        w.WriteNumber("cost", 0);
        w.WriteNumber("tokens_generated", completion);
        w.WriteNumber("tokens_input", prompt);
        w.WriteEndObject();
    }

    static void WriteToken(Utf8JsonWriter w, string text, bool special)
    {
        w.WriteStartObject("token");
        w.WriteNumber("id", 0);
        w.WriteString("text", text);
        w.WriteNumber("logprob", 0);
        w.WriteBoolean("special", special);
        w.WriteEndObject();
    }

    static (int Prompt, int Completion) Usage(JsonElement root)
    {
        var usage = root.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }

    static byte[] Event(Action<Utf8JsonWriter> body)
    {
        var json = Json(body);
        var bytes = new byte[6 + json.Length + 2];
        "data: "u8.CopyTo(bytes);
        json.CopyTo(bytes, 6);
        bytes[^2] = (byte)'\n';
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _translate && !_sse ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
