namespace DeepDeploy.Gateway.Deployments;

/// <summary>The weights a deployment serves.</summary>
/// <param name="File">The GGUF file chosen (empty for a safetensors snapshot), once resolved.</param>
public sealed record Weights(string Repo, string? Revision, string? Quantization, string? File);
