using DeepDeploy.GpuWorker.Engine;

namespace DeepDeploy.GpuWorker.Api;

/// <summary>The fields of /v1/chat/completions and /v1/completions the worker understands, validated.</summary>
public sealed class OpenAiRequest
{
    public string? Model { get; init; }
    /// <summary>Chat only.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];
    /// <summary>Completions only.</summary>
    public string Prompt { get; init; } = "";
    public int MaxTokens { get; init; } = 128;
    public float Temperature { get; init; } = 1f;
    public float TopP { get; init; } = 1f;
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public bool Stream { get; init; }
}
