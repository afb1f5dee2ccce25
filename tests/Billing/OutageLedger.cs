using System.Reflection;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Storage;

namespace DeepDeploy.Tests.Billing;

/// <summary>TEST DOUBLE: a ledger reference that fails every call while its <see cref="OutageGrainFactory"/> is down.</summary>
public class OutageLedger : DispatchProxy
{
    static readonly MethodInfo FromException = typeof(Task).GetMethods()
        .Single(m => m.Name == nameof(Task.FromException) && m.IsGenericMethodDefinition);

    IBillingLedgerGrain _ledger = null!;
    OutageGrainFactory _outage = null!;

    public static IBillingLedgerGrain Over(IBillingLedgerGrain ledger, OutageGrainFactory outage)
    {
        var proxy = Create<IBillingLedgerGrain, OutageLedger>();
        var self = (OutageLedger)(object)proxy;
        (self._ledger, self._outage) = (ledger, outage);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        if (!_outage.Down)
        {
            return method!.Invoke(_ledger, args);
        }

        var failure = new StorageUnavailableException();
        return method!.ReturnType == typeof(Task)
            ? Task.FromException(failure)
            : FromException.MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(null, [failure]);
    }
}
