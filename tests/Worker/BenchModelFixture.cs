using DeepDeploy.LocalHub;

namespace DeepDeploy.Tests.Worker;

/// <summary>Writes the benchmark-sized random llama (<see cref="LlamaShape.Bench"/>, ~27 M parameters) once per
/// class into a private temp folder: nothing is downloaded, and compute dominates the worker's overheads. Written
/// on first use, so a skipped benchmark costs nothing.</summary>
public sealed class BenchModelFixture : IDisposable
{
    readonly Lazy<string> _model;

    public BenchModelFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "deepdeploy-bench-model-" + Guid.NewGuid().ToString("N"));
        _model = new(() =>
        {
            System.IO.Directory.CreateDirectory(Directory);
            var path = Path.Combine(Directory, "bench.gguf");
            TinyLlamaGguf.Write(path, seed: 42, LlamaShape.Bench);
            return path;
        });
    }

    public string Directory { get; }

    public string ModelPath => _model.Value;

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }
}
