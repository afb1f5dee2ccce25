using DeepDeploy.GpuWorker.Engine;
using LLama;
using LLama.Common;
using Microsoft.Extensions.Options;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker.Hosting;

/// <summary>Owns the model, the inference engine and the worker's lifecycle phase.</summary>
public sealed class ModelHost(IOptions<WorkerOptions> settings, WorkerMetrics metrics, TimeProvider time,
    ILoggerFactory loggers, IHostApplicationLifetime lifetime) : IAsyncDisposable
{
    /// <summary>Environment variable (milliseconds) that delays model loading; for tests only.</summary>
    public const string LoadDelayVariable = "DEEPDEPLOY_WORKER_LOAD_DELAY_MS";

    readonly WorkerOptions _options = settings.Value;
    readonly ILogger _log = loggers.CreateLogger<ModelHost>();
    volatile WorkerPhase _phase = WorkerPhase.Loading;
    LLamaWeights? _weights;
    volatile IGenerationEngine? _engine;

    public WorkerPhase Phase => _phase;
    public WorkerOptions Options => _options;
    public IGenerationEngine? Engine => _engine;
    public ChatPromptFormatter? Chat { get; private set; }
    public int ExitCode { get; private set; }
    public string? LoadError { get; private set; }

    /// <summary>Loads the model in the background; on failure reports to stderr and stops the process (exit code 1).</summary>
    public Task StartLoading() => Task.Run(async () =>
    {
        try
        {
            // Test hook: keeps the "loading" phase observable (the tiny test model loads in milliseconds).
            if (int.TryParse(Environment.GetEnvironmentVariable(LoadDelayVariable), out var delayMs) && delayMs > 0)
            {
                await Task.Delay(delayMs);
            }

            if (_options.Engine == WorkerEngineKind.Fake)
            {
                var fake = new FakeEngine(_options.MaxBatchSize, _options.FakeTokenRate, _options.TokensPerSequence, metrics,
                    time, loggers.CreateLogger<FakeEngine>());
                Chat = new ChatPromptFormatter();
                fake.Start();
                _engine = fake;
                SetReady();
                return;
            }

            // One shared (unified) KV cache: a prefix copy between sequences then shares cells instead of copying
            // a stream; flash attention skips the arithmetic of other sequences' cells but still scans every cell in
            // use (docs/worker.md, KvFillBenchmark). The prefix cache's budget is added.
            var p = new ModelParams(_options.Model!)
            {
                ContextSize = (uint)(_options.EffectiveContextSize + _options.PrefixCacheTokens),
                BatchSize = (uint)_options.EngineBatchSize,
                UBatchSize = (uint)_options.EngineBatchSize,
                SeqMax = (uint)_options.SequenceIds,
                KVUnified = true,
                Threads = _options.Threads,
                BatchThreads = _options.Threads,
                GpuLayerCount = 0,
                FlashAttention = true,
            };
            _weights = LLamaWeights.LoadFromFile(p);
            metrics.SetPrefixCacheBudget(_options.PrefixCacheTokens);
            var engine = new InferenceEngine(_weights, p, _options.MaxBatchSize, _options.TokensPerSequence,
                _options.PrefillChunk, _options.PrefixCacheTokens, _options.PrefixCacheEntries, metrics,
                loggers.CreateLogger<InferenceEngine>());
            Chat = new ChatPromptFormatter(_weights);
            engine.Start();
            _engine = engine;
            SetReady();
        }
        catch (Exception ex)
        {
            LoadError = ex.Message;
            _phase = WorkerPhase.Failed;
            ExitCode = 1;
            Console.Error.WriteLine($"{Readiness.ErrorPrefix}failed to load model '{_options.Model}': {ex.GetType().Name}: {ex.Message}");
            lifetime.StopApplication();
        }
    });

    void SetReady()
    {
        lock (this)
        {
            if (_phase == WorkerPhase.Loading)
            {
                _phase = WorkerPhase.Ready;
            }
        }
    }

    /// <summary>Stop taking requests; health reports "draining".</summary>
    public void BeginDrain()
    {
        lock (this)
        {
            if (_phase != WorkerPhase.Failed)
            {
                _phase = WorkerPhase.Draining;
            }
        }
    }

    /// <summary>Waits for in-flight and queued requests to finish, at most <paramref name="timeout"/>.</summary>
    public Task<bool> WaitIdleAsync(TimeSpan timeout) =>
        _engine?.WaitIdleAsync(timeout) ?? Task.FromResult(true);

    public async ValueTask DisposeAsync()
    {
        BeginDrain();
        if (_engine is { } engine)
        {
            _engine = null;
            await engine.DisposeAsync();
        }
        _weights?.Dispose();
        _weights = null;
        _log.LogDebug("Model host disposed");
    }
}
