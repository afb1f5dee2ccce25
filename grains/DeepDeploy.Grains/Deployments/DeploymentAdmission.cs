using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Whether a deployment may be created or run more, asked of the grains that know: the node registry
/// (capacity, engines' allowed extra_args), the owner's ledger (spending standing) and the owner's account (GPU limit). Null means yes.</summary>
public static class DeploymentAdmission
{
    /// <summary>The first reason to refuse creating <paramref name="request"/>, in the order a user fixes them.</summary>
    public static async Task<DeploymentError?> RefuseCreateAsync(IGrainFactory grains, NewDeployment request)
    {
        var capacity = await ClusterCapacity.LoadAsync(grains);
        if (!capacity.CanHold(request.Spec.Gpu, request.Spec.NumGpus))
        {
            return new DeploymentError(DeploymentErrorKind.Invalid, "invalid_field",
                $"No node holds {request.Spec.NumGpus} GPUs of type '{request.Spec.Gpu}': all GPUs of an instance sit on one node, and the largest has {capacity.LargestNode(request.Spec.Gpu)}.",
                "num_gpus");
        }

        if (ExtraArgsAdmission.Refuse(capacity, request.Spec) is { } badArgs)
        {
            return badArgs;
        }

        if (await RefuseSpendingAsync(grains, request.Spec.Owner) is { } refused)
        {
            return refused;
        }

        var account = await grains.GetGrain<IUserQuotaGrain>(request.Spec.Owner).Get();
        if (account is null)
        {
            return new DeploymentError(DeploymentErrorKind.Forbidden, "no_account", $"User '{request.Spec.Owner}' has no account.");
        }

        if (request.Spec.NumGpus > account.GpuLimit)
        {
            return new DeploymentError(DeploymentErrorKind.Forbidden, "quota_exceeded",
                $"One instance needs {request.Spec.NumGpus} GPUs but your GPU limit is {account.GpuLimit}.", "num_gpus");
        }

        return account.LiveDeployments >= account.MaxDeployments ? DeploymentLimit(account.MaxDeployments) : null;
    }

    /// <summary>Claims the model name for <paramref name="deployId"/>; the refusal when it is taken or the limit was reached meanwhile.</summary>
    public static async Task<DeploymentError?> RefuseNameAsync(IGrainFactory grains, DeploymentSpec spec, string deployId)
    {
        var quota = grains.GetGrain<IUserQuotaGrain>(spec.Owner);
        if (await quota.ClaimModelName(spec.ModelName, deployId))
        {
            return null;
        }

        // A free name refused means a concurrent create took the last deployment the limit allows.
        return await quota.FindDeployment(spec.ModelName) is null
            ? DeploymentLimit((await quota.Get())?.MaxDeployments ?? UserLimits.DefaultMaxDeployments)
            : new DeploymentError(DeploymentErrorKind.Conflict, "name_taken",
                $"A live deployment named '{spec.FullModelName}' already exists.", "model_name");
    }

    /// <summary>The refusal at the owner's live-deployment limit (max_deployments).</summary>
    public static DeploymentError DeploymentLimit(int limit) =>
        new(DeploymentErrorKind.Forbidden, "deployment_limit_reached",
            $"You have reached your limit of {limit} live deployments (max_deployments). Delete one, or ask the operator to raise the limit.");

    /// <summary>A refusal when the owner's spending limit forbids running more (create, start, scale-up).</summary>
    public static async Task<DeploymentError?> RefuseSpendingAsync(IGrainFactory grains, string owner)
    {
        var standing = await grains.GetGrain<IBillingLedgerGrain>(owner).GetStanding();
        return standing.MayRun
            ? null
            : new DeploymentError(DeploymentErrorKind.PaymentRequired, "spending_limit_reached",
                $"Your {standing.Reason}. Raise it with PUT /billing/limit to run more.");
    }
}
