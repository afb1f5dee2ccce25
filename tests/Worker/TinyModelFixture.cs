using DeepDeploy.LocalHub;

namespace DeepDeploy.Tests.Worker;

/// <summary>Writes the tiny GGUF once per test class into a private temp folder.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "deepdeploy-worker-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        ModelPath = Path.Combine(Directory, "tiny.gguf");
        TinyLlamaGguf.Write(ModelPath, seed: 42);
    }

    public string Directory { get; }
    public string ModelPath { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
