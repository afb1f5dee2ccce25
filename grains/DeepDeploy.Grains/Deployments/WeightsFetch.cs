using System.Diagnostics.CodeAnalysis;
using DeepDeploy.Contracts.Deployments;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Resolves a deployment's weights on the thread pool, off its grain's turn: the hub may take long (retries,
/// large timeouts) and the grain keeps answering meanwhile. The outcome comes back to the grain as a call
/// (<see cref="IWeightsListener.OnWeightsResolved"/>) tagged with the run that asked, so the grain can drop
/// a stale one. At most one resolution per run is under way.
/// </summary>
public sealed class WeightsFetch(IWeightsResolver weights, IWeightsListener grain, string deployId, ILogger log)
{
    int? _running;

    public void Start(int run, WeightsRequest request)
    {
        if (_running == run)
        {
            return;
        }

        _running = run;
        _ = Task.Run(async () =>
        {
            WeightsResolution? resolution = null;
            try
            {
                resolution = await weights.ResolveAsync(request, CancellationToken.None);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Resolving the weights of {DeployId} broke down; trying again", deployId);
            }

            try
            {
                await grain.OnWeightsResolved(run, resolution);
            }
            catch (Exception e)
            {
                // The grain's run still waits for weights: it starts another resolution at a later tick.
                log.LogWarning(e, "Could not hand the weights of {DeployId} to its grain", deployId);
            }
        });
    }

    /// <summary>The outcome for <paramref name="run"/> arrived: a later tick may start another.</summary>
    public void Done(int run)
    {
        if (_running == run)
        {
            _running = null;
        }
    }

    /// <summary>Puts an outcome into the deployment: its weights, or the failure saying why. False for a stale one: the
    /// deployment stopped, restarted or already has its weights since this run asked.</summary>
    public static bool Apply(DeploymentState s, int run, [NotNullWhen(true)] WeightsResolution? resolution, DateTimeOffset now)
    {
        if (resolution is null || run != s.Run || s.Spec is null || s.Commit is not null || s.IsFinished)
        {
            return false;
        }

        if (resolution.Error is not null)
        {
            s.SetStatus(DeploymentStatus.Failed, resolution.Error, now);
        }
        else
        {
            s.Commit = resolution.Commit;
            s.WeightsFile = resolution.File;
            s.WeightsFormat = resolution.Format;
        }

        return true;
    }
}
