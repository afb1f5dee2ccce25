using System.Text;
using LLama;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Turns chat messages into a prompt. If the GGUF carries <c>tokenizer.chat_template</c> and llama.cpp's
/// built-in template support recognises it, that template is used (with the assistant turn opened).
/// Otherwise a fixed plain format is used:
/// <code>
/// system: You are helpful.
/// user: Hi
/// assistant:
/// </code>
/// i.e. one "role: content" line per message, then "assistant:".
/// </summary>
public sealed class ChatPromptFormatter
{
    readonly LLamaWeights? _weights;
    readonly bool _hasTemplate;

    /// <summary>Always the plain format (engines without a model, such as the fake one).</summary>
    public ChatPromptFormatter()
    {
    }

    public ChatPromptFormatter(LLamaWeights weights)
    {
        _weights = weights;
        _hasTemplate = weights.Metadata.TryGetValue("tokenizer.chat_template", out var t) && !string.IsNullOrWhiteSpace(t);
    }

    /// <summary>Returns the prompt and whether it came from the model's template (then control tokens are parsed).</summary>
    public (string Prompt, bool FromTemplate) Format(IReadOnlyList<ChatMessage> messages)
    {
        if (_hasTemplate && _weights is not null)
        {
            try
            {
                var template = new LLamaTemplate(_weights, strict: true) { AddAssistant = true };
                foreach (var m in messages)
                {
                    template.Add(m.Role, m.Content);
                }

                return (Encoding.UTF8.GetString(template.Apply()), true);
            }
            catch (Exception)
            {
                // Template not supported by llama.cpp's built-in list: fall back to the plain format.
            }
        }
        return (FormatPlain(messages), false);
    }

    public static string FormatPlain(IReadOnlyList<ChatMessage> messages)
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append(m.Role).Append(": ").Append(m.Content).Append('\n');
        }

        sb.Append("assistant:");
        return sb.ToString();
    }
}
