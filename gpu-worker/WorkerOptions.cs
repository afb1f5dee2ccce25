using System.Globalization;

namespace DeepDeploy.GpuWorker;

/// <summary>Command line of the worker process. See <see cref="Usage"/>.</summary>
public sealed class WorkerOptions
{
    public const string Usage = """
        usage: DeepDeploy.GpuWorker --model <path.gguf> [options]
               DeepDeploy.GpuWorker --engine fake [options]

          --model <path>              GGUF model to serve (required unless --engine fake)
          --engine <llama|fake>       llama: LLamaSharp (default); fake: TEST DOUBLE that emits canned tokens
                                      at --fake-token-rate without any model compute (benchmarks, simulations)
          --fake-token-rate <n>       fake engine: tokens per second per sequence, 0 = no delay (default 100)
          --max-queue <n>             requests accepted beyond max_batch_size, waiting for a slot (default 0);
                                      more than max_batch_size + max_queue concurrent requests get 429
          --port <n>                  TCP port, 0 = any free port (default 0)
          --host <ip>                 address to bind (default 127.0.0.1)
          --max-batch-size <n>        concurrent sequences decoded together (default 4)
          --context-size <n>          total KV cache tokens shared by all sequences (default 4096)
          --threads <n>               CPU threads for decoding (default 1)
          --served-model-name <name>  model id reported and accepted by the API (default: file name)
          --instance-id <id>          identification only (reported in /health)
        """;

    /// <summary>Smallest per-sequence token budget; the context is enlarged to give every sequence this much.</summary>
    public const int MinTokensPerSequence = 128;

    public string? ModelPath { get; private set; }
    public WorkerEngineKind Engine { get; private set; } = WorkerEngineKind.Llama;
    public double FakeTokenRate { get; private set; } = 100;
    public int MaxQueue { get; private set; }
    public int Port { get; private set; }
    public string Host { get; private set; } = "127.0.0.1";
    public int MaxBatchSize { get; private set; } = 4;
    public int ContextSize { get; private set; } = 4096;
    public int Threads { get; private set; } = 1;
    public string? ServedModelName { get; private set; }
    public string? InstanceId { get; private set; }

    /// <summary>Name under which the model is served: --served-model-name or the model's file name without extension.</summary>
    public string ModelName => ServedModelName ?? Path.GetFileNameWithoutExtension(ModelPath ?? (Engine == WorkerEngineKind.Fake ? "fake" : "model"));

    /// <summary>Concurrent requests the worker accepts (running or waiting); beyond it answers 429.</summary>
    public int AdmissionLimit => MaxBatchSize + MaxQueue;

    /// <summary>Tokens (prompt + completion) one sequence may use; the KV cache is shared by up to MaxBatchSize of them.</summary>
    public int TokensPerSequence => ContextSize / MaxBatchSize;

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a readable message on bad input.</summary>
    public static WorkerOptions Parse(IReadOnlyList<string> args)
    {
        var o = new WorkerOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string? inlineValue = null;
            var eq = name.IndexOf('=');
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = name[(eq + 1)..];
                name = name[..eq];
            }

            string Value()
            {
                if (inlineValue is not null)
                    return inlineValue;
                if (i + 1 >= args.Count)
                    throw new ArgumentException($"{name} needs a value");
                return args[++i];
            }

            int IntValue(int min)
            {
                var s = Value();
                if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
                    throw new ArgumentException($"{name} must be an integer >= {min}, got '{s}'");
                return v;
            }

            switch (name)
            {
                case "--model": o.ModelPath = Value(); break;
                case "--port": o.Port = IntValue(0); if (o.Port > 65535) throw new ArgumentException("--port must be <= 65535"); break;
                case "--host": o.Host = Value(); break;
                case "--max-batch-size": o.MaxBatchSize = IntValue(1); break;
                case "--context-size": o.ContextSize = IntValue(1); break;
                case "--threads": o.Threads = IntValue(1); break;
                case "--served-model-name": o.ServedModelName = Value(); break;
                case "--instance-id": o.InstanceId = Value(); break;
                case "--max-queue": o.MaxQueue = IntValue(0); break;
                case "--engine":
                    o.Engine = Value() switch
                    {
                        "llama" => WorkerEngineKind.Llama,
                        "fake" => WorkerEngineKind.Fake,
                        var e => throw new ArgumentException($"--engine must be 'llama' or 'fake', got '{e}'"),
                    };
                    break;
                case "--fake-token-rate":
                {
                    var s = Value();
                    if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate < 0 || double.IsInfinity(rate))
                        throw new ArgumentException($"--fake-token-rate must be a number >= 0, got '{s}'");
                    o.FakeTokenRate = rate;
                    break;
                }
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (o.Engine == WorkerEngineKind.Llama && string.IsNullOrWhiteSpace(o.ModelPath))
            throw new ArgumentException("--model is required");
        if (o.MaxBatchSize > 256)
            throw new ArgumentException("--max-batch-size must be <= 256");
        return o;
    }

    /// <summary>
    /// Makes the shared context hold max_batch_size sequences of at least <see cref="MinTokensPerSequence"/> tokens.
    /// Returns a warning to log when the context had to be enlarged.
    /// </summary>
    public string? EnsureContextHoldsBatch()
    {
        var needed = MaxBatchSize * MinTokensPerSequence;
        if (ContextSize >= needed)
            return null;
        var old = ContextSize;
        ContextSize = needed;
        return $"--context-size {old} cannot hold {MaxBatchSize} sequences; using {needed}";
    }
}
