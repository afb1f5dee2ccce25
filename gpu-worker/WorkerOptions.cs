using System.Net;

namespace DeepDeploy.GpuWorker;

/// <summary>
/// Settings of the worker process, bound from its command line (<see cref="WorkerCommandLine"/>) and checked by
/// <see cref="WorkerOptionsValidator"/>. Property names are the configuration keys the flags map to.
/// </summary>
public sealed class WorkerOptions
{
    /// <summary>Smallest per-sequence token budget; the context is enlarged to give every sequence this much.</summary>
    public const int MinTokensPerSequence = 128;

    /// <summary>GGUF file to serve (<c>--model</c>); required unless the engine is the fake one.</summary>
    public string? Model { get; set; }

    public WorkerEngineKind Engine { get; set; } = WorkerEngineKind.Llama;

    /// <summary>Fake engine: tokens per second per sequence; 0 = no delay.</summary>
    public double FakeTokenRate { get; set; } = 100;

    /// <summary>Requests accepted beyond max_batch_size, waiting for a slot.</summary>
    public int MaxQueue { get; set; }

    /// <summary>TCP port; 0 = any free port (the worker reports the one it got).</summary>
    public int Port { get; set; }

    public string Host { get; set; } = "127.0.0.1";

    public int MaxBatchSize { get; set; } = 4;

    /// <summary>KV cache tokens shared by all sequences, as asked; see <see cref="EffectiveContextSize"/>.</summary>
    public int ContextSize { get; set; } = 4096;

    /// <summary>llama.cpp threads for decode and prefill: by default every core this process may use, which measured
    /// best even with two instances sharing two cores (docs/worker.md); a node passes its own count.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>Prompt tokens prefilled per decode step, shared by the admitted sequences: a long prompt takes
    /// several steps, and the running sequences get a token in each of them.</summary>
    public int PrefillChunk { get; set; } = 128;

    /// <summary>KV cache tokens kept for finished sequences so later requests reuse their prefixes; 0 = no prefix
    /// cache. Added to the context, so it costs this much KV memory.</summary>
    public int PrefixCacheTokens { get; set; } = 4096;

    /// <summary>Most finished sequences the prefix cache keeps (each holds a llama.cpp sequence id, 256 in all).</summary>
    public int PrefixCacheEntries => PrefixCacheTokens == 0 ? 0 : Math.Min(64, WorkerOptionsValidator.MaxBatchSizeLimit - MaxBatchSize);

    /// <summary>llama.cpp sequence ids: one per running sequence and one per cached entry.</summary>
    public int SequenceIds => MaxBatchSize + PrefixCacheEntries;

    /// <summary>llama.cpp's batch (n_batch = n_ubatch): one step's token per sequence plus a prefill chunk, and never
    /// fewer than <see cref="SequenceIds"/>: llama.cpp sizes its output buffer by n_batch and asserts (aborting the
    /// process) that it holds one output per sequence id, so a small <c>--prefill-chunk</c> must not shrink it.
    /// The engine still prefills only <see cref="PrefillChunk"/> tokens per step.</summary>
    public int EngineBatchSize => Math.Max(PrefillChunk + MaxBatchSize, SequenceIds);

    public string? ServedModelName { get; set; }

    /// <summary>Identification only (reported in /health and as <c>X-DeepDeploy-Instance</c> on answers).</summary>
    public string? InstanceId { get; set; }

    /// <summary>The instance's secret, which callers of /v1/* must present; null leaves the API open.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Name under which the model is served: --served-model-name or the model's file name without extension.</summary>
    public string ModelName =>
        ServedModelName ?? Path.GetFileNameWithoutExtension(Model ?? (Engine == WorkerEngineKind.Fake ? "fake" : "model"));

    /// <summary>Concurrent requests the worker accepts (running or waiting); beyond it answers 429.</summary>
    public int AdmissionLimit => MaxBatchSize + MaxQueue;

    /// <summary>The context actually used: large enough for max_batch_size sequences of
    /// <see cref="MinTokensPerSequence"/> tokens each.</summary>
    public int EffectiveContextSize => Math.Max(ContextSize, MaxBatchSize * MinTokensPerSequence);

    /// <summary>Tokens (prompt + completion) one sequence may use; the KV cache is shared by up to MaxBatchSize of them.</summary>
    public int TokensPerSequence => EffectiveContextSize / MaxBatchSize;

    /// <summary>The address to listen on; "localhost" means the IPv4 loopback.</summary>
    public IPAddress BindAddress => IPAddress.Parse(Host == "localhost" ? "127.0.0.1" : Host);

    /// <summary>A warning to log when <see cref="ContextSize"/> cannot hold the batch and was enlarged.</summary>
    public string? ContextWarning => EffectiveContextSize == ContextSize
        ? null
        : $"--context-size {ContextSize} cannot hold {MaxBatchSize} sequences; using {EffectiveContextSize}";
}
