using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>What the HTTP API needs from an engine: tokenizing, a token budget per sequence, and a queue that
/// runs at most max_batch_size sequences at once. <see cref="InferenceEngine"/> is the real one,
/// <see cref="FakeEngine"/> the test double.</summary>
public interface IGenerationEngine : IAsyncDisposable
{
    /// <summary>Prompt plus completion tokens one sequence may hold.</summary>
    int TokensPerSequence { get; }

    /// <summary>Tokenizes with BOS. <paramref name="special"/> parses control-token text (for chat templates).</summary>
    LLamaToken[] Tokenize(string text, bool special);

    /// <summary>Queues a request; false once the engine is shutting down.</summary>
    bool TryEnqueue(GenerationRequest request);

    /// <summary>Completes when no request is running or waiting, or when the timeout elapses.</summary>
    Task<bool> WaitIdleAsync(TimeSpan timeout);
}
