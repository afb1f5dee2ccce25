using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Cli.Api;
using DeepDeploy.Cli.Output;

namespace DeepDeploy.Cli.Commands;

/// <summary><c>chat &lt;model&gt;</c> (a conversation, tokens printed as they arrive) and <c>infer &lt;model&gt;</c> (one
/// prompt), on the OpenAI-compatible streaming endpoint.</summary>
public static class ChatCommands
{
    static readonly Argument<string> Model = new("model") { Description = "Model: user/name, or just name for your own" };
    static readonly Option<int?> MaxTokens = new("--max-tokens") { Description = "Most tokens per answer" };
    static readonly Option<double?> Temperature = new("--temperature") { Description = "Sampling temperature (0 = greedy)" };

    public static Command Chat()
    {
        var system = new Option<string?>("--system") { Description = "A system message that starts the conversation" };
        return new Command("chat", "Talk with a model: one line per message (from the terminal or stdin); /exit or end of input ends")
        {
            Model, MaxTokens, Temperature, system,
        }.Runs(async (parse, ct) =>
        {
            using var client = Shared.Client(parse);
            var model = await FullNameAsync(client, parse.GetValue(Model)!, ct);
            var messages = new JsonArray();
            if (parse.GetValue(system) is { } systemText)
            {
                messages.Add(new JsonObject { ["role"] = "system", ["content"] = systemText });
            }

            var interactive = !Console.IsInputRedirected;
            if (interactive)
            {
                Out.Note($"Chatting with {model}; /exit or Ctrl+D ends.");
            }

            while (true)
            {
                if (interactive)
                {
                    Console.Error.Write("> ");
                }

                var line = await Console.In.ReadLineAsync(ct);
                if (line is null || line.Trim() == "/exit")
                {
                    return ExitCodes.Ok;
                }

                if (line.Trim().Length == 0)
                {
                    continue;
                }

                messages.Add(new JsonObject { ["role"] = "user", ["content"] = line });
                var answer = await StreamAsync(parse, client, "v1/openai/chat/completions", Body(parse, model, "messages", messages.DeepClone()),
                    c => c.Obj("delta").Str("content"), ct);
                messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = answer });
            }
        });
    }

    public static Command Infer()
    {
        var prompt = new Argument<string?>("prompt") { Description = "The prompt (default: all of stdin)", Arity = ArgumentArity.ZeroOrOne };
        return new Command("infer", "One text completion of a prompt, streamed") { Model, prompt, MaxTokens, Temperature }.Runs(async (parse, ct) =>
        {
            var text = parse.GetValue(prompt) ?? Shared.ReadStdin("the prompt");
            using var client = Shared.Client(parse);
            var model = await FullNameAsync(client, parse.GetValue(Model)!, ct);
            await StreamAsync(parse, client, "v1/openai/completions", Body(parse, model, "prompt", JsonValue.Create(text)), c => c.Str("text"), ct);
            return ExitCodes.Ok;
        });
    }

    static string Body(ParseResult parse, string model, string inputName, JsonNode? input)
    {
        var body = new JsonObject { ["model"] = model, [inputName] = input, ["stream"] = true };
        if (parse.GetValue(MaxTokens) is { } max)
        {
            body["max_tokens"] = max;
        }

        if (parse.GetValue(Temperature) is { } temperature)
        {
            body["temperature"] = temperature;
        }

        return body.ToJsonString();
    }

    /// <summary>Prints each chunk's text as it arrives (with <c>--json</c>, each chunk's JSON) and returns the whole answer.</summary>
    static async Task<string> StreamAsync(ParseResult parse, ApiClient client, string path, string body,
        Func<JsonElement, string> text, CancellationToken ct)
    {
        var answer = new System.Text.StringBuilder();
        await foreach (var item in client.StreamAsync(HttpMethod.Post, path, body, ct))
        {
            if (item.Data == "[DONE]")
            {
                break;
            }

            var chunk = JsonSerializer.Deserialize<JsonElement>(item.Data);
            if (Shared.WantsJson(parse))
            {
                Out.Json(chunk);
                continue;
            }

            foreach (var choice in chunk.Obj("choices").Items())
            {
                var piece = text(choice);
                answer.Append(piece);
                Console.Out.Write(Out.Safe(piece));
                Console.Out.Flush();
            }
        }

        if (!Shared.WantsJson(parse))
        {
            Console.Out.WriteLine();
        }

        return answer.ToString();
    }

    /// <summary>Inference names models <c>user/name</c>; a bare name is the caller's own.</summary>
    static async Task<string> FullNameAsync(ApiClient client, string model, CancellationToken ct)
    {
        if (model.Contains('/'))
        {
            return model;
        }

        var (name, _) = await AuthCommands.IdentifyAsync(client, ct);
        return $"{name}/{model}";
    }
}
