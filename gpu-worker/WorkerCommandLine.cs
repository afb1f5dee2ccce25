using System.ComponentModel;
using Microsoft.Extensions.Configuration;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker;

/// <summary>
/// The worker's command line as configuration: each flag of <see cref="Args"/> maps to a property of
/// <see cref="WorkerOptions"/>. Reading refuses what binding would silently drop or throw on (an unknown flag, a
/// value of the wrong type) with one line that names the flag; range rules live in <see cref="WorkerOptionsValidator"/>.
/// </summary>
public static class WorkerCommandLine
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
          --threads <n>               CPU threads for decoding (default: the cores this process may use)
          --prefill-chunk <n>         prompt tokens prefilled per decode step, so a long prompt does not stall
                                      running sequences (default 128)
          --prefix-cache-tokens <n>   KV tokens kept from finished requests for prefix reuse, added to the
                                      context; 0 = no prefix caching (default 4096)
          --served-model-name <name>  model id reported and accepted by the API (default: file name)
          --instance-id <id>          identification only (reported in /health)
          --api-key <secret>          requests to /v1/* need "Authorization: Bearer <secret>" (401 otherwise);
                                      /health and /metrics stay open. Without it the API is open (local use only)
        """;

    /// <summary>Flag to <see cref="WorkerOptions"/> property.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        [Args.Model] = nameof(WorkerOptions.Model),
        [Args.Engine] = nameof(WorkerOptions.Engine),
        [Args.FakeTokenRate] = nameof(WorkerOptions.FakeTokenRate),
        [Args.MaxQueue] = nameof(WorkerOptions.MaxQueue),
        [Args.Port] = nameof(WorkerOptions.Port),
        [Args.Host] = nameof(WorkerOptions.Host),
        [Args.MaxBatchSize] = nameof(WorkerOptions.MaxBatchSize),
        [Args.ContextSize] = nameof(WorkerOptions.ContextSize),
        [Args.Threads] = nameof(WorkerOptions.Threads),
        [Args.PrefillChunk] = nameof(WorkerOptions.PrefillChunk),
        [Args.PrefixCacheTokens] = nameof(WorkerOptions.PrefixCacheTokens),
        [Args.ServedModelName] = nameof(WorkerOptions.ServedModelName),
        [Args.InstanceId] = nameof(WorkerOptions.InstanceId),
        [Args.ApiKey] = nameof(WorkerOptions.ApiKey),
    };

    static readonly Dictionary<string, string> FlagOfKey = SwitchMappings.ToDictionary(m => m.Value, m => m.Key, StringComparer.Ordinal);

    /// <summary>The command line as configuration; throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public static IConfiguration Read(IReadOnlyList<string> args)
    {
        var configuration = new ConfigurationBuilder()
            .AddCommandLine([.. args], new Dictionary<string, string>(SwitchMappings))
            .Build();
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            // Keys of flags are stored exactly as mapped; anything else came from an unknown flag.
            if (!FlagOfKey.TryGetValue(key, out var flag))
            {
                throw new ArgumentException($"unknown option '--{key}'");
            }

            var type = typeof(WorkerOptions).GetProperty(key)!.PropertyType;
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type != typeof(string) && !Converts(type, value))
            {
                throw new ArgumentException($"{flag} must be {Expected(type)}, got '{value}'");
            }
        }

        return configuration;
    }

    static bool Converts(Type type, string? value)
    {
        try
        {
            return value is not null && TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value) is not null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException || e.InnerException is FormatException)
        {
            return false;
        }
    }

    static string Expected(Type type) =>
        type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))
        : type == typeof(double) ? "a number"
        : "an integer";
}
