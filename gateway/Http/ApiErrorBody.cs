namespace DeepDeploy.Gateway.Http;

/// <summary>The body of every error answer: <c>{"error": {...}}</c>.</summary>
public sealed record ApiErrorBody(ApiError Error);
