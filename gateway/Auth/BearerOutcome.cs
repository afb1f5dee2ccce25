namespace DeepDeploy.Gateway.Auth;

/// <summary>What <see cref="BearerAuthenticator"/> made of a request: its caller, or why not (no Failure: no
/// Authorization header at all; ThrottledFor: its source failed too often and must wait).</summary>
public readonly record struct BearerOutcome(BearerCaller? Caller, string? Failure = null, TimeSpan? ThrottledFor = null);
