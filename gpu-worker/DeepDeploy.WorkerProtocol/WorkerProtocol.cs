using System.Globalization;

namespace DeepDeploy.WorkerProtocol;

/// <summary>
/// The contract between a gpu-worker process and the programs around it: the command-line arguments a node
/// agent passes, the line the worker prints once it listens, the headers the gateway reads, and the metric
/// series the node agent scrapes. Defined once here so that both sides change together.
/// </summary>
public static class WorkerProtocol
{
    /// <summary>Command-line arguments of <c>DeepDeploy.GpuWorker</c>.</summary>
    public static class Args
    {
        public const string Model = "--model";
        public const string Engine = "--engine";
        public const string FakeTokenRate = "--fake-token-rate";
        public const string MaxQueue = "--max-queue";
        public const string Port = "--port";
        public const string Host = "--host";
        public const string MaxBatchSize = "--max-batch-size";
        public const string ContextSize = "--context-size";
        public const string Threads = "--threads";
        public const string ServedModelName = "--served-model-name";
        public const string InstanceId = "--instance-id";
        public const string PrefillChunk = "--prefill-chunk";
        public const string PrefixCacheTokens = "--prefix-cache-tokens";

        /// <summary>The instance's secret: requests to /v1/* must carry <c>Authorization: Bearer &lt;secret&gt;</c>
        /// (the same flag as vLLM's, so one placeholder serves both).</summary>
        public const string ApiKey = "--api-key";

        /// <summary>Shortest <see cref="ApiKey"/> the worker takes (the node gives 64 hex digits, 256 bits).</summary>
        public const int ApiKeyMinLength = 32;
    }

    /// <summary>Lines the worker prints on stdout (its only stdout output; logs go to stderr).</summary>
    public static class Readiness
    {
        /// <summary>Printed once, when the HTTP listener is bound: the prefix, then the base URL with the port it got.</summary>
        public const string ListeningPrefix = "DEEPDEPLOY_WORKER_LISTENING ";

        /// <summary>Printed (on stderr) before a start-up failure exit, followed by the reason.</summary>
        public const string ErrorPrefix = "DEEPDEPLOY_WORKER_ERROR ";

        public static string ListeningLine(string host, int port) =>
            ListeningPrefix + "http://" + host + ":" + port.ToString(CultureInfo.InvariantCulture);

        /// <summary>The base URL announced by a listening line, or null for any other line.</summary>
        public static Uri? ParseListening(string? line) =>
            line is not null && line.StartsWith(ListeningPrefix, StringComparison.Ordinal)
                && Uri.TryCreate(line[ListeningPrefix.Length..].Trim(), UriKind.Absolute, out var uri)
                ? uri
                : null;
    }

    /// <summary>HTTP headers between the gateway and the worker.</summary>
    public static class Headers
    {
        /// <summary>On answers that did no work, so a gateway may send the request elsewhere: "busy" (429),
        /// "loading", "draining" or "failed" (503).</summary>
        public const string Refused = "X-DeepDeploy-Refused";

        /// <summary>On answers the worker generates: its <c>--instance-id</c>, so that a client or operator can tell
        /// which instance served a request (and whose prefix cache it used).</summary>
        public const string Instance = "X-DeepDeploy-Instance";
    }

    /// <summary>Series the worker exports at <c>/metrics</c> and the node agent reads.</summary>
    public static class Metrics
    {
        public const string RequestsRunning = "deepdeploy_worker_requests_running";
        public const string RequestsWaiting = "deepdeploy_worker_requests_waiting";
        public const string RequestsRunningPeak = "deepdeploy_worker_requests_running_peak";
        public const string RequestsInFlight = "deepdeploy_worker_requests_in_flight";
        public const string RequestsInFlightPeak = "deepdeploy_worker_requests_in_flight_peak";
        public const string RequestsRefused = "deepdeploy_worker_requests_refused_total";
        public const string GeneratedTokens = "deepdeploy_worker_generated_tokens_total";
        public const string PromptTokens = "deepdeploy_worker_prompt_tokens_total";

        /// <summary>KV cells held by the sequences in the batch (prompt and generated tokens decoded so far).</summary>
        public const string SequenceTokens = "deepdeploy_worker_sequence_tokens";

        /// <summary>Requests that reused a cached prefix, and those that found none (prefix cache on).</summary>
        public const string PrefixCacheHits = "deepdeploy_worker_prefix_cache_hits_total";
        public const string PrefixCacheMisses = "deepdeploy_worker_prefix_cache_misses_total";

        /// <summary>Prompt tokens reused from the prefix cache instead of prefilled.</summary>
        public const string PrefixCacheHitTokens = "deepdeploy_worker_prefix_cache_hit_tokens_total";

        /// <summary>Tokens and entries the prefix cache retains after their requests ended, and its budget.</summary>
        public const string PrefixCacheTokens = "deepdeploy_worker_prefix_cache_tokens";
        public const string PrefixCacheEntries = "deepdeploy_worker_prefix_cache_entries";
        public const string PrefixCacheBudgetTokens = "deepdeploy_worker_prefix_cache_budget_tokens";
    }
}
