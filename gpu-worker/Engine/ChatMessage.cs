namespace DeepDeploy.GpuWorker.Engine;

/// <summary>One OpenAI chat message reduced to its text.</summary>
public sealed record ChatMessage(string Role, string Content);
