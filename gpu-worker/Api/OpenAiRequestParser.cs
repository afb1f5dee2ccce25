using System.Text;
using System.Text.Json;
using DeepDeploy.GpuWorker.Engine;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>Validates an OpenAI request body; every problem becomes a 400 naming the offending field.</summary>
public static class OpenAiRequestParser
{
    public const int DefaultMaxTokens = 128;
    static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static OpenAiRequest Parse(JsonElement root, bool chat)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ApiException(new ApiError(400, "The request body must be a JSON object."));
        }

        string? model = null;
        if (Get(root, "model") is { } m)
        {
            if (m.ValueKind != JsonValueKind.String)
            {
                throw Invalid("model", "'model' must be a string.");
            }

            model = m.GetString();
        }

        var maxTokensParam = "max_tokens";
        var maxTokensEl = Get(root, "max_tokens");
        if (chat && maxTokensEl is null && Get(root, "max_completion_tokens") is { } mct)
        {
            maxTokensEl = mct;
            maxTokensParam = "max_completion_tokens";
        }
        var maxTokens = DefaultMaxTokens;
        if (maxTokensEl is { } mt)
        {
            if (mt.ValueKind != JsonValueKind.Number || !mt.TryGetInt32(out maxTokens) || maxTokens < 1)
            {
                throw Invalid(maxTokensParam, $"'{maxTokensParam}' must be an integer >= 1.");
            }
        }

        var temperature = 1f;
        if (Get(root, "temperature") is { } t)
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out var tv) || tv < 0 || tv > 2)
            {
                throw Invalid("temperature", "'temperature' must be a number between 0 and 2.");
            }

            temperature = (float)tv;
        }

        var topP = 1f;
        if (Get(root, "top_p") is { } p)
        {
            if (p.ValueKind != JsonValueKind.Number || !p.TryGetDouble(out var pv) || pv <= 0 || pv > 1)
            {
                throw Invalid("top_p", "'top_p' must be a number greater than 0 and at most 1.");
            }

            topP = (float)pv;
        }

        long? seed = null;
        if (Get(root, "seed") is { } s)
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var sv))
            {
                throw Invalid("seed", "'seed' must be an integer.");
            }

            seed = sv;
        }

        var stream = false;
        if (Get(root, "stream") is { } st)
        {
            if (st.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw Invalid("stream", "'stream' must be a boolean.");
            }

            stream = st.GetBoolean();
        }

        if (Get(root, "n") is { } n && (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out var nv) || nv != 1))
        {
            throw Invalid("n", "Only n = 1 is supported.");
        }

        return new OpenAiRequest
        {
            Model = model,
            Messages = chat ? ParseMessages(root) : [],
            Prompt = chat ? "" : ParsePrompt(root),
            MaxTokens = maxTokens,
            Temperature = temperature,
            TopP = topP,
            Seed = seed,
            Stop = ParseStop(root),
            Stream = stream,
        };
    }

    static IReadOnlyList<ChatMessage> ParseMessages(JsonElement root)
    {
        if (Get(root, "messages") is not { } el)
        {
            throw Invalid("messages", "'messages' is required.");
        }

        if (el.ValueKind != JsonValueKind.Array || el.GetArrayLength() == 0)
        {
            throw Invalid("messages", "'messages' must be a non-empty array.");
        }

        var list = new List<ChatMessage>();
        var i = 0;
        foreach (var msg in el.EnumerateArray())
        {
            var at = $"messages[{i}]";
            if (msg.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(at, $"'{at}' must be an object.");
            }

            if (Get(msg, "role") is not { ValueKind: JsonValueKind.String } r || !Roles.Contains(r.GetString()!))
            {
                throw Invalid($"{at}.role", $"'{at}.role' must be one of: {string.Join(", ", Roles)}.");
            }

            var role = r.GetString()!;
            list.Add(new ChatMessage(role, ParseContent(Get(msg, "content"), $"{at}.content", role)));
            i++;
        }
        return list;
    }

    static string ParseContent(JsonElement? content, string param, string role)
    {
        switch (content)
        {
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString()!;
            case null when role == "assistant":
                return "";
            case { ValueKind: JsonValueKind.Array } parts:
                var sb = new StringBuilder();
                var j = 0;
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || Get(part, "type") is not { ValueKind: JsonValueKind.String } type || type.GetString() != "text"
                        || Get(part, "text") is not { ValueKind: JsonValueKind.String } text)
                    {
                        throw Invalid($"{param}[{j}]", $"'{param}[{j}]' must be a text part {{\"type\":\"text\",\"text\":...}}.");
                    }

                    sb.Append(text.GetString());
                    j++;
                }
                return sb.ToString();
            default:
                throw Invalid(param, $"'{param}' must be a string or an array of text parts.");
        }
    }

    static string ParsePrompt(JsonElement root)
    {
        switch (Get(root, "prompt"))
        {
            case null:
                throw Invalid("prompt", "'prompt' is required.");
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString()!;
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String:
                return a[0].GetString()!;
            default:
                throw Invalid("prompt", "'prompt' must be a string (or an array holding exactly one string).");
        }
    }

    static IReadOnlyList<string> ParseStop(JsonElement root)
    {
        switch (Get(root, "stop"))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString()!.Length == 0 ? throw Invalid("stop", "'stop' strings must not be empty.") : [s.GetString()!];
            case { ValueKind: JsonValueKind.Array } a:
                if (a.GetArrayLength() > 4)
                {
                    throw Invalid("stop", "'stop' may hold at most 4 strings.");
                }

                var list = new List<string>();
                foreach (var item in a.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String || item.GetString()!.Length == 0)
                    {
                        throw Invalid("stop", "'stop' must be a string or an array of non-empty strings.");
                    }

                    list.Add(item.GetString()!);
                }
                return list;
            default:
                throw Invalid("stop", "'stop' must be a string or an array of non-empty strings.");
        }
    }

    /// <summary>The property's value, or null when it is absent or JSON null.</summary>
    static JsonElement? Get(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static ApiException Invalid(string param, string message) => new(ApiError.Invalid(param, message));
}
