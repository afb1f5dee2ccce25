namespace DeepDeploy.Simulation.Engine;

/// <summary>
/// How fast one GPU type serves a dense ~8B model in BF16 (per instance; see <see cref="LatencyModel"/>).
/// </summary>
/// <param name="PrefillTokensPerSecond">Prompt tokens processed per second (compute bound).</param>
/// <param name="DecodeTokensPerSecond">Output tokens per second of one sequence alone in the batch (memory bound).</param>
/// <param name="DecodeBatchSlowdown">Each further sequence in the batch slows every sequence's decode by this share:
/// per-sequence rate = decode / (1 + slowdown × (batch − 1)).</param>
/// <param name="LoadGigabytesPerSecond">Weights read from the node's cache into GPU memory.</param>
/// <param name="StartSeconds">Engine start before the weights load (process, CUDA context, graph capture).</param>
public sealed record GpuProfile(
    double PrefillTokensPerSecond,
    double DecodeTokensPerSecond,
    double DecodeBatchSlowdown,
    double LoadGigabytesPerSecond,
    double StartSeconds)
{
    /// <summary>Output tokens per second of each sequence when <paramref name="batch"/> sequences decode together.</summary>
    public double DecodePerSequence(int batch) => DecodeTokensPerSecond / (1 + DecodeBatchSlowdown * Math.Max(0, batch - 1));

    /// <summary>Seconds from launch to serving for weights of <paramref name="weightsGigabytes"/>.</summary>
    public double StartupSeconds(double weightsGigabytes) => StartSeconds + weightsGigabytes / LoadGigabytesPerSecond;
}
