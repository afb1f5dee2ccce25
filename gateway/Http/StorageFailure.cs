using System.Data.Common;
using DeepDeploy.Contracts.Storage;

namespace DeepDeploy.Gateway.Http;

/// <summary>Whether an exception means the cluster's storage did not answer: a grain refused a change it could not
/// save, or an activation could not read its state. Either way nothing changed and the same request may be retried.</summary>
public static class StorageFailure
{
    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StorageUnavailableException or DbException)
            {
                return true;
            }
        }

        return false;
    }
}
