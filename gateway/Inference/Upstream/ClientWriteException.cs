namespace DeepDeploy.Gateway.Inference.Upstream;

/// <summary>Writing the engine's answer to the client failed: the client went away, not the engine.</summary>
public sealed class ClientWriteException(Exception inner) : IOException("Writing the response to the client failed.", inner);
