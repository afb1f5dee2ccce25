namespace DeepDeploy.Gateway.Http;

/// <summary>What went wrong: a stable <paramref name="Code"/>, a sentence for people, and the input at fault
/// (dotted for nested fields), or null.</summary>
public sealed record ApiError(string Code, string Message, string? Field);
