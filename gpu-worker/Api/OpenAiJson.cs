using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>Writes OpenAI-shaped JSON bodies and stream chunks.</summary>
public static class OpenAiJson
{
    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Error(ApiError e) => Write(w =>
    {
        w.WriteStartObject("error");
        w.WriteString("message", e.Message);
        w.WriteString("type", e.Type);
        WriteNullable(w, "param", e.Param);
        WriteNullable(w, "code", e.Code);
        w.WriteEndObject();
    });

    public static byte[] ChatCompletion(string id, long created, string model, string content, string finishReason, TokenUsage usage) =>
        Write(w =>
        {
            Header(w, id, "chat.completion", created, model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", Clean(content));
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            WriteUsage(w, usage);
        });

    public static byte[] TextCompletion(string id, long created, string model, string text, string finishReason, TokenUsage usage) =>
        Write(w =>
        {
            Header(w, id, "text_completion", created, model);
            TextChoices(w, text, finishReason);
            WriteUsage(w, usage);
        });

    /// <summary>A chat.completion.chunk; <paramref name="role"/> only in the first chunk, <paramref name="finishReason"/> only in the last.</summary>
    public static byte[] ChatChunk(string id, long created, string model, string? role, string? content, string? finishReason) =>
        Write(w =>
        {
            Header(w, id, "chat.completion.chunk", created, model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            if (role is not null)
            {
                w.WriteString("role", role);
            }

            if (content is not null)
            {
                w.WriteString("content", Clean(content));
            }

            w.WriteEndObject();
            w.WriteNull("logprobs");
            WriteNullable(w, "finish_reason", finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
        });

    public static byte[] TextChunk(string id, long created, string model, string text, string? finishReason) =>
        Write(w =>
        {
            Header(w, id, "text_completion", created, model);
            TextChoices(w, text, finishReason);
        });

    /// <summary>The last chunk of a stream: empty choices and the usage totals.</summary>
    public static byte[] UsageChunk(string id, string obj, long created, string model, TokenUsage usage) =>
        Write(w =>
        {
            Header(w, id, obj, created, model);
            w.WriteStartArray("choices");
            w.WriteEndArray();
            WriteUsage(w, usage);
        });

    static void Header(Utf8JsonWriter w, string id, string obj, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", obj);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    /// <summary>The one choice of a text completion or chunk; the finish reason is null until the last chunk.</summary>
    static void TextChoices(Utf8JsonWriter w, string text, string? finishReason)
    {
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteString("text", Clean(text));
        w.WriteNull("logprobs");
        WriteNullable(w, "finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.PromptTokens);
        w.WriteNumber("completion_tokens", u.CompletionTokens);
        w.WriteNumber("total_tokens", u.PromptTokens + u.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>Generated text from a random model may split characters; never let a lone surrogate break the JSON writer.</summary>
    static string Clean(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (!char.IsSurrogate(s[i]))
            {
                continue;
            }

            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
                continue;
            }
            return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)); // lone surrogates become U+FFFD
        }
        return s;
    }

    static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
