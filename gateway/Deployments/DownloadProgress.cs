namespace DeepDeploy.Gateway.Deployments;

/// <summary>While <c>downloading</c>: bytes of the weights on the node so far, and in all.</summary>
public sealed record DownloadProgress(long BytesDone, long BytesTotal);
