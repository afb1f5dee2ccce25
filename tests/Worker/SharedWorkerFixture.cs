using Xunit;

namespace DeepDeploy.Tests.Worker;

/// <summary>One worker process (tiny model, max_batch_size 4) shared by the tests of a class.</summary>
public sealed class SharedWorkerFixture : IAsyncLifetime
{
    public const string ServedName = "tiny-test";
    readonly TinyModelFixture _model = new();

    public WorkerProcess Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Worker = await WorkerProcess.StartAsync(_model.ModelPath,
            ["--max-batch-size", "4", "--max-queue", "4", "--context-size", "4096", "--served-model-name", ServedName, "--instance-id", "test-1"]);
        await Worker.WaitHealthyAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Worker is not null)
            {
                await Worker.DisposeAsync();
            }
        }
        finally
        {
            _model.Dispose();
        }
    }
}
