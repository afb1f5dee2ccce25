using System.Net;
using Microsoft.Extensions.Options;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.GpuWorker;

/// <summary>The rules for <see cref="WorkerOptions"/>; each failure is one line naming the flag.</summary>
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    /// <summary>Upper bound of --max-batch-size (llama.cpp's sequence limit).</summary>
    public const int MaxBatchSizeLimit = 256;

    /// <summary>Upper bound of --prefill-chunk (one decode's batch).</summary>
    public const int MaxPrefillChunk = 8192;

    /// <summary>Upper bound of --prefix-cache-tokens.</summary>
    public const int MaxPrefixCacheTokens = 1 << 20;

    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Engine))
        {
            failures.Add($"{Args.Engine} must be 'llama' or 'fake'");
        }

        if (options.Engine == WorkerEngineKind.Llama && string.IsNullOrWhiteSpace(options.Model))
        {
            failures.Add($"{Args.Model} is required");
        }

        AtLeast(failures, Args.Port, options.Port, 0);
        AtMost(failures, Args.Port, options.Port, 65535);
        AtLeast(failures, Args.MaxBatchSize, options.MaxBatchSize, 1);
        AtMost(failures, Args.MaxBatchSize, options.MaxBatchSize, MaxBatchSizeLimit);
        AtLeast(failures, Args.MaxQueue, options.MaxQueue, 0);
        AtLeast(failures, Args.ContextSize, options.ContextSize, 1);
        AtLeast(failures, Args.Threads, options.Threads, 1);
        AtLeast(failures, Args.PrefillChunk, options.PrefillChunk, 1);
        AtMost(failures, Args.PrefillChunk, options.PrefillChunk, MaxPrefillChunk);
        AtLeast(failures, Args.PrefixCacheTokens, options.PrefixCacheTokens, 0);
        AtMost(failures, Args.PrefixCacheTokens, options.PrefixCacheTokens, MaxPrefixCacheTokens);
        if (!(options.FakeTokenRate >= 0) || double.IsInfinity(options.FakeTokenRate))
        {
            failures.Add($"{Args.FakeTokenRate} must be a number >= 0, got '{options.FakeTokenRate}'");
        }

        if (!IPAddress.TryParse(options.Host == "localhost" ? "127.0.0.1" : options.Host, out _))
        {
            failures.Add($"{Args.Host} must be an IP address, got '{options.Host}'");
        }

        if (options.ApiKey is { } key && (key.Length < Args.ApiKeyMinLength || !key.All(char.IsAsciiLetterOrDigit)))
        {
            // The value is never echoed: it is a secret.
            failures.Add($"{Args.ApiKey} must be at least {Args.ApiKeyMinLength} ASCII letters or digits");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    static void AtLeast(List<string> failures, string flag, int value, int min)
    {
        if (value < min)
        {
            failures.Add($"{flag} must be an integer >= {min}, got '{value}'");
        }
    }

    static void AtMost(List<string> failures, string flag, int value, int max)
    {
        if (value > max)
        {
            failures.Add($"{flag} must be <= {max}");
        }
    }
}
