namespace DeepDeploy.GpuWorker.Api;

/// <summary>A slot of the <see cref="AdmissionGate"/> held by one request; released once (when generation ends, or
/// at the latest when the request ends), so that the slot is free before the last byte of the answer reaches the
/// caller.</summary>
public sealed class AdmissionSlot(AdmissionGate gate)
{
    int _released;

    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            gate.Exit();
        }
    }
}
