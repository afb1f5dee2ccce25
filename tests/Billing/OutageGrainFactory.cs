using System.Reflection;
using DeepDeploy.Contracts.Billing;

namespace DeepDeploy.Tests.Billing;

/// <summary>
/// TEST DOUBLE for a storage outage as a ledger's caller sees it: the cluster's grain factory, except that while
/// <see cref="Down"/> every call to a billing ledger fails the way the ledger fails when its write fails
/// (<see cref="DeepDeploy.Contracts.Storage.StorageUnavailableException"/>, nothing changed). Otherwise calls reach the
/// real grain.
/// </summary>
public class OutageGrainFactory : DispatchProxy
{
    IGrainFactory _grains = null!;

    public bool Down { get; set; }

    public static OutageGrainFactory Over(IGrainFactory grains)
    {
        var factory = (OutageGrainFactory)(object)Create<IGrainFactory, OutageGrainFactory>();
        factory._grains = grains;
        return factory;
    }

    public IGrainFactory Grains => (IGrainFactory)(object)this;

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        var result = method!.Invoke(_grains, args);
        return result is IBillingLedgerGrain ledger ? OutageLedger.Over(ledger, this) : result;
    }
}
