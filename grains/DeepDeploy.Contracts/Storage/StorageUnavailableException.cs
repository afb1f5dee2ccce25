namespace DeepDeploy.Contracts.Storage;

/// <summary>
/// A grain could not save a change because its storage did not answer (database down, disk full). Nothing of the
/// change was kept: the caller may retry the same request once storage is back. Its message names no host path
/// or connection detail, so it may reach a client.
/// </summary>
[GenerateSerializer]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
        : base("Storage is unavailable: the change was not saved.")
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
