namespace DeepDeploy.GpuWorker;

/// <summary>Which engine serves the requests (<c>--engine</c>).</summary>
public enum WorkerEngineKind
{
    /// <summary>LLamaSharp (llama.cpp) over a GGUF file: real tokens.</summary>
    Llama,

    /// <summary>Test double: canned tokens at a configured rate, no model compute (benchmarks, simulations).</summary>
    Fake,
}
